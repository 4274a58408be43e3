//! Adam, as `torch.optim.Adam` (no weight decay, no AMSGrad).

use hagcn_linalg::Real;
use num_traits::Zero;

use crate::Result;
use crate::backend::{AdamUpdate, Backend};

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
