//! Encoding gives the same logits, bit for bit, whatever the thread counts: its layers sum
//! each logit in one fixed order (`hagcn_autodiff::reproducible`), where a BLAS GEMM blocks
//! the sum differently for different thread counts (OpenBLAS, 784 inputs: most logits
//! differ in their last bits between 1 and 2 threads, and a code bit flips wherever a logit
//! is that close to 0).

use hagcn_autodiff::{AdamConfig, Backend, CpuBackend};
use hagcn_model::{Filter, Machine, MachineConfig, Objective};
use ndarray::Array2;

/// Runs `f` with OpenBLAS and rayon on `threads` threads.
fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    hagcn_openblas::set_num_threads(threads);
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn hash_logits_are_the_same_for_one_and_two_threads() {
    let d = 784; // MNIST-sized rows: long enough sums that OpenBLAS splits them by thread count
    let x = Array2::from_shape_fn((600, d), |(i, j)| ((i * 31 + j * 17) % 97) as f32 / 97.0 - 0.5);
    for objective in [Objective::Hagcn, Objective::Knn] {
        let mut config = MachineConfig::new(d, 64, Filter::Gcn);
        config.hidden = 128;
        config.objective = objective;
        let mut machine = Machine::new(CpuBackend::<f32>::new(), config, AdamConfig::default(), 5).unwrap();
        machine.fit_inputs(x.view()).unwrap();
        let one = on_threads(1, || machine.hash_logits(x.view()).unwrap());
        let two = on_threads(2, || machine.hash_logits(x.view()).unwrap());
        assert_eq!(one.mapv(f32::to_bits), two.mapv(f32::to_bits), "{objective}: logits moved with the thread count");
    }
    // What the test guards against, when this machine's BLAS shows it: the GEMM's sums move.
    let be = CpuBackend::<f32>::new();
    let w = Array2::from_shape_fn((128, d), |(i, j)| (((i * 13 + j * 7) % 89) as f32 / 89.0 - 0.5) * 0.05);
    let (xt, wt, bt) = (be.upload(x.view()).unwrap(), be.upload(w.view()).unwrap(), be.full(1, 128, 0.0).unwrap());
    let gemm = |t| on_threads(t, || be.download(&be.linear(&xt, &wt, &bt).unwrap()).unwrap());
    let moved = gemm(1).iter().zip(&gemm(2)).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
    eprintln!("the GEMM moved {moved} of {} logits between 1 and 2 threads", 600 * 128);
    hagcn_openblas::set_num_threads(1);
}
