//! Full training steps of every filter with `hagcn_model::Machine` on the CUDA backend's host
//! code over the emulated device (the `.cu` kernels run by the CPU emulator, BLAS in place of
//! cuBLAS) against `CpuBackend<f32>`: the same model code, the same initial parameters, one
//! batch, two Adam steps.

use std::sync::Arc;
use std::time::Instant;

use hagcn_openblas as _;

mod common;
use common::Recording;

use hagcn_autodiff::{AdamConfig, CpuBackend};
use hagcn_cuda::kernels::adam;
use hagcn_cuda::{CudaBackend, EmulatedDevice, KernelDevice};
use hagcn_model::{Filter, Machine, MachineConfig};
use ndarray::Array2;

const STEPS: usize = 2;
const LR: f64 = 1e-3;

/// Tolerances, and why.
///
/// The two backends run the same graph and round differently only where a reduction adds in
/// another order: the block-tree `sum` and layer-norm/adjacency row sums versus ndarray's
/// sequential ones, `gram` as a GEMM plus a scaling versus BLAS `ssyrk`, and SGEMMs on
/// transposed operands. Each is a relative change of a few f32 ulps (`ε = 1.2e-7`) per value,
/// and the model's forward pass chains a few dozen of them, so the loss agrees to `LOSS_RTOL`
/// (16 ulps; measured: at most 2.1e-7, printed by the test).
///
/// Adam normalises each gradient entry: its first step moves a parameter by
/// `lr · g/(|g| + ε')`, i.e. by `±lr` whatever the gradient's size, so a rounding-level change
/// in the gradient changes the parameter by rounding level — except for a gradient entry that
/// is itself at rounding level (a true zero computed as ±1e-9 on one backend), which may move
/// by up to `2 lr` per step in the opposite direction. Parameters are therefore compared with
/// an absolute bound of `PARAM_ATOL` (a two-thousandth of one step; measured: at most 4.8e-8,
/// with parameters of order 0.1, i.e. a few ulps) on all but `SIGN_FLIPS_ALLOWED` entries
/// (none is needed with this batch today), and
/// every entry within `2 · STEPS · lr` (plus that bound), which only a rounding-level gradient
/// can reach.
const LOSS_RTOL: f64 = 2e-6;
const PARAM_ATOL: f32 = 5e-7;
const SIGN_FLIPS_ALLOWED: usize = 2;

fn batch(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| (((i * 31 + j * 17) % 23) as f32 / 23.0) - 0.3)
}

#[test]
fn one_training_step_of_every_filter_matches_cpu_backend() {
    let small = Shape { rows: 12, dim: 10, hidden: 16, bits: 8, k: 4 };
    every_filter_matches_cpu_backend(&CudaBackend::new(Arc::new(EmulatedDevice)), small, LOSS_RTOL, PARAM_ATOL);
}

/// The same on `cuda:0`, at this small shape and at the (a batch of 128, d = h = 768,
/// 64 bits, k = 18). cuBLAS may split a 768-long dot product into partial sums (split-K), a
/// reordering of up to `768 ε` relative per entry instead of the few ulps of the small shape,
/// so the large shape gets ten times the tolerances. Run by `gpu-check`'s `run.sh`.
#[test]
#[ignore = "needs an NVIDIA GPU: run by gpu-check's run.sh"]
fn one_training_step_of_every_filter_matches_cpu_backend_on_gpu() {
    let device = hagcn_cuda::Device::open(0).expect("this test needs cuda:0");
    let gpu = CudaBackend::new(Arc::new(device));
    let small = Shape { rows: 12, dim: 10, hidden: 16, bits: 8, k: 4 };
    every_filter_matches_cpu_backend(&gpu, small, LOSS_RTOL, PARAM_ATOL);
    let real = Shape { rows: 128, dim: 768, hidden: 768, bits: 64, k: 18 };
    every_filter_matches_cpu_backend(&gpu, real, 10.0 * LOSS_RTOL, 10.0 * PARAM_ATOL);
}

/// Batch rows and the model's sizes.
#[derive(Clone, Copy, Debug)]
struct Shape {
    rows: usize,
    dim: usize,
    hidden: usize,
    bits: usize,
    k: usize,
}

fn every_filter_matches_cpu_backend<D: KernelDevice>(
    gpu: &CudaBackend<D>,
    shape: Shape,
    loss_rtol: f64,
    param_atol: f32,
) {
    let x = batch(shape.rows, shape.dim);
    let adam = AdamConfig { lr: LR, ..AdamConfig::default() };
    for &filter in Filter::ALL {
        let started = Instant::now();
        let mut config = MachineConfig::new(shape.dim, shape.bits, filter);
        config.hidden = shape.hidden;
        config.k = shape.k;
        let mut emulated = Machine::new(gpu.clone(), config.clone(), adam, 7).unwrap();
        let mut cpu = Machine::new(CpuBackend::<f32>::new(), config, adam, 7).unwrap();
        let mut worst_loss = 0.0f64;
        for step in 0..STEPS {
            let (a, b) = (emulated.train_step(x.view()).unwrap(), cpu.train_step(x.view()).unwrap());
            let rel = (a.loss - b.loss).abs() / b.loss.abs();
            worst_loss = worst_loss.max(rel);
            assert!(rel <= loss_rtol, "{filter} step {step}: loss {} vs {} (relative {rel:e})", a.loss, b.loss);
        }
        let (mut worst_param, mut flips) = (0.0f32, 0);
        for ((name, a), (_, b)) in emulated.state_dict().unwrap().iter().zip(&cpu.state_dict().unwrap()) {
            for (i, (p, q)) in a.iter().zip(b).enumerate() {
                let diff = (p - q).abs();
                assert!(diff <= 2.0 * STEPS as f32 * LR as f32 + param_atol, "{filter} {name}[{i}]: {p} vs {q}");
                if diff > param_atol {
                    flips += 1;
                } else {
                    worst_param = worst_param.max(diff);
                }
            }
        }
        eprintln!(
            "{filter} {shape:?}: loss relative difference ≤ {worst_loss:.1e}, parameters ≤ {worst_param:.1e} \
             ({flips} near-zero gradients), {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(
            flips <= SIGN_FLIPS_ALLOWED,
            "{filter} {shape:?}: {flips} parameters differ by more than {param_atol:e}"
        );
    }
}

/// "Only the batch goes in and the loss comes out": on a device that counts what crosses, a
/// training step (after the first, which uploads nothing more) moves no parameter, gradient or
/// Adam moment. What does cross, per filter, and why:
/// * in: the batch (`n × d`) and the initial values of a few `int` buffers that kernels write (the
///   adjacency's bad-degree flag; the B-spline's non-finite flag and extremes, forward and
///   backward); cheby's matrix path uploads `I` (`n × n`); lanczos
///   its start vector (`n`); fourier and spline the host eigensolver's packed `(n + 1) × k`
///   result and, in the backward pass, its gradient `∂Z` (`n × h`);
/// * out: the loss terms and a few flags and norms (the adjacency's bad-degree flag, the
///   B-spline's non-finite flag, lanczos's `‖Â v‖` per step for its breakdown test); fourier and
///   spline also `Z` (`n × h`) for the host eigensolver and the packed result's gradient.
///
/// It also prints the kernel launches and SGEMMs per step: at n = 128 each costs about 3 µs of
/// launch overhead on a GPU, the floor a fused or graph-captured step would lower.
#[test]
fn a_training_step_keeps_the_model_on_the_device() {
    // h = 32 so that the parameters (about 4h²) outnumber what may cross (linear in h).
    let (n, d, h, bits, k) = (12, 10, 32, 8, 4);
    let x = batch(n, d);
    for &filter in Filter::ALL {
        let device = Arc::new(Recording::default());
        let mut config = MachineConfig::new(d, bits, filter);
        config.hidden = h;
        config.k = k;
        let mut machine =
            Machine::new(CudaBackend::new(Arc::clone(&device)), config, AdamConfig::default(), 7).unwrap();
        let params: usize = machine.state_dict().unwrap().iter().map(|(_, p)| p.len()).sum();
        machine.train_step(x.view()).unwrap();
        let _ = (device.take(), device.take_traffic());
        machine.train_step(x.view()).unwrap();
        let (launches, traffic) = (device.take(), device.take_traffic());
        let spectral = matches!(filter, Filter::Fourier | Filter::Spline);
        let max_in = n * d
            + 8
            + if filter == Filter::Cheby { n * n } else { 0 }
            + if filter == Filter::Lanczos { n } else { 0 }
            + if spectral { (n + 1) * k + n * h } else { 0 };
        let max_out =
            16 + if filter == Filter::Lanczos { k } else { 0 } + if spectral { n * h + (n + 1) * k } else { 0 };
        eprintln!(
            "{filter}: {} kernel launches + {} SGEMMs per step; {} values in, {} out ({params} parameters)",
            launches.len(),
            traffic.gemms,
            traffic.uploaded,
            traffic.downloaded
        );
        assert!(
            traffic.uploaded <= max_in,
            "{filter}: {} values uploaded, at most {max_in} expected",
            traffic.uploaded
        );
        assert!(
            traffic.downloaded <= max_out,
            "{filter}: {} values downloaded, at most {max_out} expected",
            traffic.downloaded
        );
        assert!(params > 2 * (max_in + max_out), "{filter}: the bounds must be far below the {params} parameters");
        assert!(launches.contains(&adam::ADAM_UPDATE_F32.name()), "{filter}: Adam ran on the host");
    }
}
