//! Host math of one Adam update, and the hyper-parameters every backend's update takes.

use ndarray::{ArrayView2, ArrayViewMut2, Zip};

use crate::Element;

/// Adam updates of at least this many entries run on the rayon thread pool.
const PAR_MIN_LEN_ADAM: usize = 1 << 16;

/// Hyper-parameters of one Adam update, with the step count already folded into the
/// bias corrections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamUpdate<E> {
    /// Learning rate.
    pub lr: E,
    /// First-moment decay β₁.
    pub beta1: E,
    /// Second-moment decay β₂.
    pub beta2: E,
    /// Denominator guard ε.
    pub eps: E,
    /// `1 − β₁ᵗ`.
    pub bias_correction1: E,
    /// `1 − β₂ᵗ`.
    pub bias_correction2: E,
}

/// One Adam update in place (PyTorch's `torch.optim.Adam`, no weight decay).
pub(crate) fn adam_update<E: Element>(
    param: ArrayViewMut2<E>,
    grad: ArrayView2<E>,
    m: ArrayViewMut2<E>,
    v: ArrayViewMut2<E>,
    u: &AdamUpdate<E>,
) {
    let step = u.lr / u.bias_correction1;
    let sqrt_bc2 = u.bias_correction2.sqrt();
    let (one_b1, one_b2) = (E::one() - u.beta1, E::one() - u.beta2);
    let kernel = |p: &mut E, &g: &E, m: &mut E, v: &mut E| {
        *m = u.beta1 * *m + one_b1 * g;
        *v = u.beta2 * *v + one_b2 * g * g;
        *p = *p - step * *m / (v.sqrt() / sqrt_bc2 + u.eps);
    };
    let len = grad.len();
    let zip = Zip::from(param).and(grad).and(m).and(v);
    if len >= PAR_MIN_LEN_ADAM {
        zip.par_for_each(kernel);
    } else {
        zip.for_each(kernel);
    }
}
