//! The Adam optimiser, as `torch.optim.Adam` (no weight decay, no AMSGrad): [`Adam`] keeps
//! both moments of every parameter and the step count, and updates each parameter with
//! [`Backend::adam_update`].
//!
//! ```text
//! m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²,
//! p ← p − (lr / bc₁) · m / (√v / √bc₂ + ε),   bc₁ = 1 − β₁ᵗ,  bc₂ = 1 − β₂ᵗ
//! ```
//!
//! Not a graph op: no recording and no backward rule. Kernel: [`Backend::adam_update`], a
//! fused op whose default runs the host math (`host.rs`, also what `CpuBackend` calls, in
//! place) between downloads and uploads.
//!
//! CUDA: `crates/hagcn-cuda/kernels/adam.cu` and `crates/hagcn-cuda/src/ops/adam.rs`.

pub(crate) mod host;

use hagcn_linalg::Real;
use num_traits::Zero;

use crate::Result;
use crate::backend::Backend;
use host::AdamUpdate;

/// Adam's hyper-parameters (spec §3 defaults: lr 1e-4, β = (0.9, 0.999), ε = 1e-8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay β₁.
    pub beta1: f64,
    /// Second-moment decay β₂.
    pub beta2: f64,
    /// Denominator guard ε.
    pub eps: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// Adam state for a fixed list of parameters: both moments of each, and the step count.
pub struct Adam<B: Backend> {
    config: AdamConfig,
    step: u64,
    moments: Vec<(B::Tensor, B::Tensor)>,
}

impl<B: Backend> Adam<B> {
    /// State for parameters of the given shapes, moments at zero.
    pub fn new(backend: &B, config: AdamConfig, shapes: &[(usize, usize)]) -> Result<Self> {
        let zero = B::Elem::zero();
        let moments = shapes
            .iter()
            .map(|&(r, c)| Ok((backend.full(r, c, zero)?, backend.full(r, c, zero)?)))
            .collect::<Result<_>>()?;
        Ok(Adam { config, step: 0, moments })
    }

    /// The hyper-parameters.
    pub fn config(&self) -> AdamConfig {
        self.config
    }

    /// Updates done so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every parameter with its gradient, in the order given to [`Adam::new`].
    /// A parameter whose gradient is `None` is left alone (its moments too), as PyTorch
    /// does for a parameter whose `.grad` is `None`.
    pub fn step(&mut self, backend: &B, params: &mut [&mut B::Tensor], grads: &[Option<&B::Tensor>]) -> Result<()> {
        assert_eq!(params.len(), self.moments.len(), "Adam::step: parameter count changed");
        assert_eq!(grads.len(), self.moments.len(), "Adam::step: gradient count differs");
        self.step += 1;
        let t = self.step as i32;
        let c = self.config;
        let update = AdamUpdate {
            lr: B::Elem::of(c.lr),
            beta1: B::Elem::of(c.beta1),
            beta2: B::Elem::of(c.beta2),
            eps: B::Elem::of(c.eps),
            bias_correction1: B::Elem::of(1.0 - c.beta1.powi(t)),
            bias_correction2: B::Elem::of(1.0 - c.beta2.powi(t)),
        };
        for ((param, grad), (m, v)) in params.iter_mut().zip(grads).zip(&mut self.moments) {
            if let Some(grad) = grad {
                backend.adam_update(param, grad, m, v, &update)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, array};

    use crate::ops::testing::{be, close};
    use crate::{Adam, AdamConfig, Backend, Graph};

    #[test]
    fn adam_matches_the_pytorch_formula() {
        // Two steps on p = [1, −1] with gradients [0.5, 0.5] then [−1, 2] (lr 0.1):
        // written out with torch.optim.Adam's formula.
        let be = be();
        let cfg = AdamConfig { lr: 0.1, ..AdamConfig::default() };
        let mut adam = Adam::new(&be, cfg, &[(1, 2)]).unwrap();
        let mut p = be.upload(array![[1.0, -1.0]].view()).unwrap();
        let (mut m, mut v) = ([0.0f64; 2], [0.0f64; 2]);
        let mut expect = [1.0f64, -1.0];
        for (t, grad) in [[0.5, 0.5], [-1.0, 2.0]].into_iter().enumerate() {
            let g = be.upload(array![grad].view()).unwrap();
            adam.step(&be, &mut [&mut p], &[Some(&g)]).unwrap();
            let t = (t + 1) as i32;
            for i in 0..2 {
                m[i] = 0.9 * m[i] + 0.1 * grad[i];
                v[i] = 0.999 * v[i] + 0.001 * grad[i] * grad[i];
                let denom = v[i].sqrt() / (1.0 - 0.999f64.powi(t)).sqrt() + 1e-8;
                expect[i] -= 0.1 / (1.0 - 0.9f64.powi(t)) * m[i] / denom;
            }
        }
        let got = be.download(&p).unwrap();
        assert!(close(&got, &array![expect], 1e-12), "{got} vs {expect:?}");
        // The first step of Adam moves every coordinate by about lr in the gradient's direction.
        assert!((expect[0] - (1.0 - 0.1 - 0.1 * 0.9 / 1.0)).abs() < 0.2);
        assert_eq!(adam.steps(), 2);
    }

    #[test]
    fn adam_minimises_a_quadratic() {
        // min ‖p − c‖²: Adam with lr 0.05 gets close to c in a few hundred steps.
        let be = be();
        let c = array![[1.5, -0.5, 2.0]];
        let mut p = be.upload(Array2::zeros((1, 3)).view()).unwrap();
        let mut adam = Adam::new(&be, AdamConfig { lr: 0.05, ..AdamConfig::default() }, &[(1, 3)]).unwrap();
        for _ in 0..500 {
            let mut g = Graph::new(be.clone());
            let pv = g.param(p.clone());
            let cv = g.constant(be.upload(c.view()).unwrap());
            let loss = g.mse(pv, cv).unwrap();
            let mut grads = g.backward(loss).unwrap();
            let gp = grads.take(pv).unwrap();
            drop(g);
            adam.step(&be, &mut [&mut p], &[Some(&gp)]).unwrap();
        }
        assert!(close(&be.download(&p).unwrap(), &c, 1e-2), "{}", be.download(&p).unwrap());
    }
}
