//! The Gram matrix `alpha · a aᵀ` of a row-major `a` (`n × k`) through BLAS `?syrk`: one
//! triangle (half the work of a general product), then mirrored. [`crate::Element::gram`] calls
//! these per element type; they use no generic code, so `element.rs` can depend on them.

use ndarray::Array2;

/// Calls the `?syrk` of `$syrk`, then copies the lower triangle up.
macro_rules! gram_with {
    ($syrk:ident, $alpha:expr, $a:expr) => {{
        let a = $a.as_standard_layout();
        let (n, k) = a.dim();
        let mut c = ndarray::Array2::zeros((n, n));
        if n > 0 && k > 0 {
            let (n_c, k_c) = (n as i32, k as i32);
            // SAFETY: `a` is a contiguous row-major n × k matrix (lda = k) and `c` a contiguous
            // n × n matrix (ldc = n); syrk writes only the lower triangle of `c`.
            unsafe {
                cblas_sys::$syrk(
                    cblas_sys::CBLAS_LAYOUT::CblasRowMajor,
                    cblas_sys::CBLAS_UPLO::CblasLower,
                    cblas_sys::CBLAS_TRANSPOSE::CblasNoTrans,
                    n_c,
                    k_c,
                    $alpha,
                    a.as_ptr(),
                    k_c,
                    0.0,
                    c.as_mut_ptr(),
                    n_c,
                );
            }
            mirror_lower(&mut c);
        }
        c
    }};
}

/// `alpha · a aᵀ` in `f64` (`dsyrk`).
pub(crate) fn gram_f64(alpha: f64, a: &Array2<f64>) -> Array2<f64> {
    gram_with!(cblas_dsyrk, alpha, a)
}

/// `alpha · a aᵀ` in `f32` (`ssyrk`).
pub(crate) fn gram_f32(alpha: f32, a: &Array2<f32>) -> Array2<f32> {
    gram_with!(cblas_ssyrk, alpha, a)
}

/// Copies the strictly lower triangle of the square `c` onto the upper one, in tiles so that
/// both the rows read and the columns written stay in cache.
fn mirror_lower<T: Copy>(c: &mut Array2<T>) {
    const TILE: usize = 64;
    let n = c.nrows();
    let data = c.as_slice_mut().expect("contiguous");
    for bi in (0..n).step_by(TILE) {
        for bj in (bi..n).step_by(TILE) {
            for i in bi..(bi + TILE).min(n) {
                for j in bj.max(i + 1)..(bj + TILE).min(n) {
                    data[i * n + j] = data[j * n + i];
                }
            }
        }
    }
}
