//! GELU and its derivative on one value, per element type, and the special functions they use.
//!
//! `f64` (gradient checks) uses libm's `erf` and `exp`, accurate to an ulp or so.
//! `f32` (training) uses branch-free approximations that the compiler vectorises, so the
//! GELU of a whole activation matrix runs at memory speed:
//! `erf` is the rational minimax approximation Eigen, XLA and TensorFlow use for `float`
//! (odd degree-13 numerator over even degree-8 denominator on `[-4, 4]`, exactly ±1 in
//! `f32` outside; at most 3.4e-7 from the exact value), and `exp` is a Cody–Waite range
//! reduction `x = k ln2 + r`, `|r| ≤ ln2/2`, with a degree-7 Taylor polynomial for `e^r` and
//! `2^k` built from its exponent bits. Both stay within a few `f32` ulps of the exact values
//! (tested against libm below).
//!
//! [`crate::Element`]'s `erf`, `gelu` and `gelu_grad` call these; they use no generic code, so
//! `element.rs` can depend on them. `activations.cu` repeats the `f32` functions step for step.

const FRAC_1_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// `GELU(x) = x/2 · (1 + erf(x/√2))` in `f64`.
#[inline]
pub(crate) fn gelu_f64(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

/// `GELU'(x) = Φ(x) + x φ(x)` in `f64`.
#[inline]
pub(crate) fn gelu_grad_f64(x: f64) -> f64 {
    let cdf = 0.5 * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2));
    cdf + x * FRAC_1_SQRT_2PI * libm::exp(-0.5 * x * x)
}

/// `GELU(x) = x/2 · (1 + erf(x/√2))` in `f32`, with [`erf_f32`].
#[inline(always)]
pub(crate) fn gelu_f32(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `GELU'(x) = Φ(x) + x φ(x)` in `f32`, with [`erf_f32`] and [`exp_f32`].
#[inline(always)]
pub(crate) fn gelu_grad_f32(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + erf_f32(x * std::f32::consts::FRAC_1_SQRT_2));
    cdf + x * (FRAC_1_SQRT_2PI as f32) * exp_f32(-0.5 * x * x)
}

/// Branch-free `erf` for `f32` (see the module docs).
#[inline(always)]
pub(crate) fn erf_f32(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2.mul_add(-2.726_142_3e-10, 2.770_681_4e-8);
    p = x2.mul_add(p, -2.101_024e-6);
    p = x2.mul_add(p, -5.692_506_4e-5);
    p = x2.mul_add(p, -7.349_906_3e-4);
    p = x2.mul_add(p, -2.954_600_1e-3);
    p = x2.mul_add(p, -1.609_603_3e-2);
    let mut q = x2.mul_add(-1.456_607_2e-5, -2.133_740_6e-4);
    q = x2.mul_add(q, -1.682_827e-3);
    q = x2.mul_add(q, -7.373_329_2e-3);
    q = x2.mul_add(q, -1.426_474e-2);
    x * p / q
}

/// Branch-free `e^x` for `f32` (see the module docs); inputs below −87 give about `1e-38`.
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let k = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // Cody–Waite: ln 2 split into a part exact in f32 and a small correction.
    let r = k.mul_add(-0.693_145_75, x);
    let r = k.mul_add(-1.428_606_8e-6, r);
    let mut p = r.mul_add(1.0 / 5040.0, 1.0 / 720.0);
    p = r.mul_add(p, 1.0 / 120.0);
    p = r.mul_add(p, 1.0 / 24.0);
    p = r.mul_add(p, 1.0 / 6.0);
    p = r.mul_add(p, 0.5);
    p = r.mul_add(p, 1.0);
    p = r.mul_add(p, 1.0);
    p * f32::from_bits(((k as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (-60_000..=60_000).map(|i| i as f32 * 1e-4)
    }

    #[test]
    fn erf_f32_matches_libm() {
        let worst = grid().map(|x| (erf_f32(x) as f64 - libm::erf(x as f64)).abs()).fold(0.0, f64::max);
        assert!(worst < 5e-7, "max |erf error| {worst}"); // ≈ 4 ulp of 1.0
        assert!((erf_f32(10.0) - 1.0).abs() < 2e-7 && erf_f32(10.0) <= 1.0);
        assert_eq!(erf_f32(-10.0), -erf_f32(10.0));
        assert_eq!(erf_f32(0.0), 0.0);
    }

    #[test]
    fn exp_f32_matches_libm() {
        for x in (-8_700..=8_800).map(|i| i as f32 * 1e-2) {
            let exact = libm::exp(x as f64);
            let rel = ((exp_f32(x) as f64 - exact) / exact).abs();
            assert!(rel < 4e-7, "exp({x}): relative error {rel}");
        }
        assert!(exp_f32(-200.0) < 1e-37);
    }

    #[test]
    fn f32_gelu_and_gradient_match_f64() {
        for x in grid() {
            let (g32, g64) = (gelu_f32(x) as f64, gelu_f64(x as f64));
            // 1 + erf(x/√2) cancels for negative x: its absolute error (≈ 4e-7) is scaled by x/2.
            let tol = 1e-6 * (1.0 + g64.abs()) + 4e-7 * (x as f64).abs();
            assert!((g32 - g64).abs() < tol, "gelu({x}): {g32} vs {g64}");
            let (d32, d64) = (gelu_grad_f32(x) as f64, gelu_grad_f64(x as f64));
            assert!((d32 - d64).abs() < 1e-6 + 2e-7 * (x as f64).abs(), "gelu'({x}): {d32} vs {d64}");
        }
    }
}
