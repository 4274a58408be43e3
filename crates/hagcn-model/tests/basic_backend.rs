//! A backend that implements only the basic kernels (the required methods of `Backend`) and
//! inherits every fused op (eigendecomposition, B-spline, layer norm, adjacency, tridiagonal,
//! Gram matrix, gradient accumulation, Adam) from the trait's defaults trains every filter end
//! to end and matches the CPU backend: the path a new device backend takes on day one.

use hagcn_autodiff::{AdamConfig, Backend, CpuBackend, CpuTensor, Result};
use hagcn_model::{Filter, Machine, MachineConfig};
use hagcn_openblas as _;
use ndarray::{Array2, ArrayView2};

/// The CPU backend with every provided method left to the trait's defaults.
#[derive(Clone, Default)]
struct BasicKernelsOnly(CpuBackend<f64>);

impl Backend for BasicKernelsOnly {
    type Elem = f64;
    type Tensor = CpuTensor<f64>;

    fn name(&self) -> String {
        "basic kernels only".into()
    }
    fn shape(&self, t: &Self::Tensor) -> (usize, usize) {
        self.0.shape(t)
    }
    fn upload(&self, a: ArrayView2<f64>) -> Result<Self::Tensor> {
        self.0.upload(a)
    }
    fn download(&self, t: &Self::Tensor) -> Result<Array2<f64>> {
        self.0.download(t)
    }
    fn full(&self, rows: usize, cols: usize, value: f64) -> Result<Self::Tensor> {
        self.0.full(rows, cols, value)
    }
    fn matmul(&self, a: &Self::Tensor, ta: bool, b: &Self::Tensor, tb: bool) -> Result<Self::Tensor> {
        self.0.matmul(a, ta, b, tb)
    }
    fn linear(&self, x: &Self::Tensor, w: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.linear(x, w, b)
    }
    fn add(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.add(a, b)
    }
    fn sub(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.sub(a, b)
    }
    fn mul(&self, a: &Self::Tensor, b: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.mul(a, b)
    }
    fn affine(&self, a: &Self::Tensor, scale: f64, shift: f64) -> Result<Self::Tensor> {
        self.0.affine(a, scale, shift)
    }
    fn add_row(&self, a: &Self::Tensor, row: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.add_row(a, row)
    }
    fn sum_rows(&self, a: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.sum_rows(a)
    }
    fn sum(&self, a: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.sum(a)
    }
    fn broadcast_scalar(&self, s: &Self::Tensor, rows: usize, cols: usize, scale: f64) -> Result<Self::Tensor> {
        self.0.broadcast_scalar(s, rows, cols, scale)
    }
    fn scale_by(&self, a: &Self::Tensor, s: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.scale_by(a, s)
    }
    fn sqrt(&self, a: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.sqrt(a)
    }
    fn recip(&self, a: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.recip(a)
    }
    fn slice_cols(&self, a: &Self::Tensor, start: usize, len: usize) -> Result<Self::Tensor> {
        self.0.slice_cols(a, start, len)
    }
    fn embed_cols(&self, a: &Self::Tensor, total: usize, start: usize) -> Result<Self::Tensor> {
        self.0.embed_cols(a, total, start)
    }
    fn concat_cols(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor> {
        self.0.concat_cols(parts)
    }
    fn slice_rows(&self, a: &Self::Tensor, start: usize, len: usize) -> Result<Self::Tensor> {
        self.0.slice_rows(a, start, len)
    }
    fn concat_rows(&self, parts: &[&Self::Tensor]) -> Result<Self::Tensor> {
        self.0.concat_rows(parts)
    }
    fn gelu(&self, x: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.gelu(x)
    }
    fn gelu_backward(&self, x: &Self::Tensor, g: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.gelu_backward(x, g)
    }
    fn sigmoid(&self, x: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.sigmoid(x)
    }
    fn sigmoid_backward(&self, y: &Self::Tensor, g: &Self::Tensor) -> Result<Self::Tensor> {
        self.0.sigmoid_backward(y, g)
    }
}

#[test]
fn fused_ops_fall_back_to_the_host_and_train_every_filter() {
    let x = Array2::from_shape_fn((24, 16), |(i, j)| (((i * 31 + j * 17) % 23) as f64 / 23.0) - 0.3);
    let adam = AdamConfig { lr: 1e-3, ..AdamConfig::default() };
    for &filter in Filter::ALL {
        let mut config = MachineConfig::new(16, 8, filter);
        config.hidden = 32;
        config.k = 5;
        let mut basic = Machine::new(BasicKernelsOnly::default(), config.clone(), adam, 3).unwrap();
        let mut cpu = Machine::new(CpuBackend::<f64>::new(), config, adam, 3).unwrap();
        for step in 0..5 {
            let (a, b) = (basic.train_step(x.view()).unwrap(), cpu.train_step(x.view()).unwrap());
            assert!((a.loss - b.loss).abs() <= 1e-12 * b.loss.abs(), "{filter} step {step}: {a:?} vs {b:?}");
        }
        // The spectral filters differentiate eigenvectors of the batch graph's clustered
        // eigenvalues, which turn the rounding differences of the Gram matrix (a GEMM here,
        // BLAS ?syrk on the CPU backend) into parameter differences of up to 3e-8 after five
        // Adam steps (measured on an AMD EPYC with OpenBLAS's Zen kernels): 3e-5 of one step.
        let tolerance = if matches!(filter, Filter::Fourier | Filter::Spline) { 1e-6 } else { 1e-10 };
        for ((name, a), (_, b)) in basic.state_dict().unwrap().iter().zip(&cpu.state_dict().unwrap()) {
            let diff = (a - b).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            assert!(diff <= tolerance, "{filter} {name}: parameters differ by {diff:e}");
        }
    }
}
