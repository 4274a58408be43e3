// The B-spline basis of the spline filter (Cox–de Boor, spec §5.2) and its gradient with
// respect to the points.
//
// Reference: hagcn_linalg::bspline_basis{,_backward} (crates/hagcn-linalg/src/bspline.rs):
// knots from lo = min x, hi = max x (first index on ties): `degree` copies of lo,
// K − p + 1 evenly spaced values (first half lo + l·step, second half hi − (gaps − l)·step),
// `degree` copies of hi; the recursion with ε = 1e-10 and terms dropped when |den| ≤ ε; entry
// (m − 1, K − 1) set to 1. The gradient carries ∂/∂x, ∂/∂lo, ∂/∂hi through the recursion as
// dual numbers; the points at the first min and first max receive Σ g ⊙ ∂B/∂lo and Σ g ⊙ ∂B/∂hi.
//
// Launch: bspline_knots with one block (a serial scan for the extremes: m is the filter order,
// tens of points); bspline_basis and bspline_bwd one thread per point; bspline_bwd_finish one
// block, blockDim.x a multiple of 32. n_basis + degree + 1 ≤ HAGCN_BSPLINE_MAX_KNOTS (the host
// checks it).

#define HAGCN_BSPLINE_MAX_KNOTS 64

// knots, ∂knot/∂lo, ∂knot/∂hi (n_basis + degree + 1 each); extremes = {argmin, argmax};
// bad = 1 when a point is not finite.
template <typename T>
__device__ void bspline_knots(const T* __restrict__ x, int m, int n_basis, int degree, T* __restrict__ knots,
                              T* __restrict__ knot_dlo, T* __restrict__ knot_dhi, int* __restrict__ extremes,
                              int* __restrict__ bad) {
    __shared__ int ext[2];
    if (threadIdx.x == 0) {
        int lo = 0, hi = 0, finite = 1;
        for (int j = 0; j < m; ++j) {
            if (!hagcn_is_finite(x[j])) finite = 0;
            if (x[j] < x[lo]) lo = j;
            if (x[j] > x[hi]) hi = j;
        }
        ext[0] = lo;
        ext[1] = hi;
        extremes[0] = lo;
        extremes[1] = hi;
        bad[0] = finite ? 0 : 1;
    }
    __syncthreads();
    const T lo = x[ext[0]], hi = x[ext[1]];
    const int spaced = n_basis - degree + 1;
    const int gaps = spaced - 1;
    const T step = (hi - lo) / (T)gaps;
    const int n_knots = n_basis + degree + 1;
    for (int t = threadIdx.x; t < n_knots; t += blockDim.x) {
        T v, dlo, dhi;
        if (t < degree) {
            v = lo, dlo = T(1), dhi = T(0);
        } else if (t < degree + spaced) {
            const int l = t - degree;
            v = l < spaced / 2 ? lo + step * (T)l : hi - step * (T)(gaps - l);
            const T frac = (T)((double)l / (double)gaps);
            dlo = T(1) - frac;
            dhi = frac;
        } else {
            v = hi, dlo = T(0), dhi = T(1);
        }
        knots[t] = v;
        knot_dlo[t] = dlo;
        knot_dhi[t] = dhi;
    }
}

// N_(i,degree)(x) for i < n_knots − degree − 1 into nb (values only).
template <typename T>
__device__ __forceinline__ void hagcn_cox_de_boor(T x, const T* __restrict__ t, int n_knots, int degree, T* nb) {
    const T eps = (T)1e-10;
    for (int i = 0; i + 1 < n_knots; ++i) nb[i] = (t[i] <= x && x < t[i + 1]) ? T(1) : T(0);
    for (int d = 1; d <= degree; ++d) {
        for (int i = 0; i < n_knots - 1 - d; ++i) {
            T acc = T(0);
            const T den1 = t[i + d] - t[i];
            if (hagcn_abs(den1) > eps) acc = acc + (x - t[i]) / (den1 + eps) * nb[i];
            const T den2 = t[i + d + 1] - t[i + 1];
            if (hagcn_abs(den2) > eps) acc = acc + (t[i + d + 1] - x) / (den2 + eps) * nb[i + 1];
            nb[i] = acc;
        }
    }
}

template <typename T>
__device__ void bspline_basis(const T* __restrict__ x, const T* __restrict__ knots, T* __restrict__ out, int m,
                              int n_basis, int degree) {
    T t[HAGCN_BSPLINE_MAX_KNOTS];
    T nb[HAGCN_BSPLINE_MAX_KNOTS];
    const int n_knots = n_basis + degree + 1;
    for (int i = 0; i < n_knots; ++i) t[i] = knots[i];
    for (long long j = hagcn_global_id(); j < m; j += hagcn_grid_threads()) {
        hagcn_cox_de_boor(x[j], t, n_knots, degree, nb);
        T* row = out + j * n_basis;
        for (int i = 0; i < n_basis; ++i) row[i] = nb[i];
        if (j == m - 1) row[n_basis - 1] = T(1);
    }
}

// A value with its derivatives with respect to the point, lo and hi.
template <typename T>
struct HagcnDual {
    T v, dx, dlo, dhi;
};

template <typename T>
__device__ __forceinline__ HagcnDual<T> operator+(HagcnDual<T> a, HagcnDual<T> b) {
    return HagcnDual<T>{a.v + b.v, a.dx + b.dx, a.dlo + b.dlo, a.dhi + b.dhi};
}
template <typename T>
__device__ __forceinline__ HagcnDual<T> operator-(HagcnDual<T> a, HagcnDual<T> b) {
    return HagcnDual<T>{a.v - b.v, a.dx - b.dx, a.dlo - b.dlo, a.dhi - b.dhi};
}
template <typename T>
__device__ __forceinline__ HagcnDual<T> operator*(HagcnDual<T> a, HagcnDual<T> b) {
    return HagcnDual<T>{a.v * b.v, a.dx * b.v + a.v * b.dx, a.dlo * b.v + a.v * b.dlo, a.dhi * b.v + a.v * b.dhi};
}
template <typename T>
__device__ __forceinline__ HagcnDual<T> operator/(HagcnDual<T> a, HagcnDual<T> b) {
    const T q = a.v / b.v;
    return HagcnDual<T>{q, (a.dx - q * b.dx) / b.v, (a.dlo - q * b.dlo) / b.v, (a.dhi - q * b.dhi) / b.v};
}

// Per point j: gx[j] = Σ_i g_ji ∂B_ji/∂x_j, glo[j] = Σ_i g_ji ∂B_ji/∂lo, ghi[j] likewise.
template <typename T>
__device__ void bspline_bwd(const T* __restrict__ x, const T* __restrict__ knots, const T* __restrict__ knot_dlo,
                            const T* __restrict__ knot_dhi, const T* __restrict__ g, T* __restrict__ gx,
                            T* __restrict__ glo, T* __restrict__ ghi, int m, int n_basis, int degree) {
    typedef HagcnDual<T> D;
    D t[HAGCN_BSPLINE_MAX_KNOTS];
    D nb[HAGCN_BSPLINE_MAX_KNOTS];
    const int n_knots = n_basis + degree + 1;
    for (int i = 0; i < n_knots; ++i) t[i] = D{knots[i], T(0), knot_dlo[i], knot_dhi[i]};
    const T eps = (T)1e-10;
    const D zero = D{T(0), T(0), T(0), T(0)}, one = D{T(1), T(0), T(0), T(0)}, deps = D{eps, T(0), T(0), T(0)};
    for (long long j = hagcn_global_id(); j < m; j += hagcn_grid_threads()) {
        const D p = D{x[j], T(1), T(0), T(0)};
        for (int i = 0; i + 1 < n_knots; ++i) nb[i] = (t[i].v <= p.v && p.v < t[i + 1].v) ? one : zero;
        for (int d = 1; d <= degree; ++d) {
            for (int i = 0; i < n_knots - 1 - d; ++i) {
                D acc = zero;
                const D den1 = t[i + d] - t[i];
                if (hagcn_abs(den1.v) > eps) acc = acc + (p - t[i]) / (den1 + deps) * nb[i];
                const D den2 = t[i + d + 1] - t[i + 1];
                if (hagcn_abs(den2.v) > eps) acc = acc + (t[i + d + 1] - p) / (den2 + deps) * nb[i + 1];
                nb[i] = acc;
            }
        }
        const T* gr = g + j * n_basis;
        T sx = T(0), slo = T(0), shi = T(0);
        for (int i = 0; i < n_basis; ++i) {
            if (j == m - 1 && i == n_basis - 1) continue; // set to 1: constant
            sx = sx + gr[i] * nb[i].dx;
            slo = slo + gr[i] * nb[i].dlo;
            shi = shi + gr[i] * nb[i].dhi;
        }
        gx[j] = sx;
        glo[j] = slo;
        ghi[j] = shi;
    }
}

// gx[argmin] += Σ glo, gx[argmax] += Σ ghi (one block).
template <typename T>
__device__ void bspline_bwd_finish(T* __restrict__ gx, const T* __restrict__ glo, const T* __restrict__ ghi,
                                   const int* __restrict__ extremes, int m) {
    __shared__ T scratch[HAGCN_MAX_WARPS];
    T slo = T(0), shi = T(0);
    for (int j = threadIdx.x; j < m; j += blockDim.x) {
        slo += glo[j];
        shi += ghi[j];
    }
    slo = hagcn_block_sum(slo, scratch);
    shi = hagcn_block_sum(shi, scratch);
    if (threadIdx.x == 0) {
        gx[extremes[0]] = gx[extremes[0]] + slo;
        gx[extremes[1]] = gx[extremes[1]] + shi;
    }
}

extern "C" __global__ void bspline_knots_f32(const float* __restrict__ x, int m, int n_basis, int degree, float* __restrict__ knots, float* __restrict__ knot_dlo, float* __restrict__ knot_dhi, int* __restrict__ extremes, int* __restrict__ bad) { bspline_knots(x, m, n_basis, degree, knots, knot_dlo, knot_dhi, extremes, bad); }
extern "C" __global__ void bspline_basis_f32(const float* __restrict__ x, const float* __restrict__ knots, float* __restrict__ out, int m, int n_basis, int degree) { bspline_basis(x, knots, out, m, n_basis, degree); }
extern "C" __global__ void bspline_bwd_f32(const float* __restrict__ x, const float* __restrict__ knots, const float* __restrict__ knot_dlo, const float* __restrict__ knot_dhi, const float* __restrict__ g, float* __restrict__ gx, float* __restrict__ glo, float* __restrict__ ghi, int m, int n_basis, int degree) { bspline_bwd(x, knots, knot_dlo, knot_dhi, g, gx, glo, ghi, m, n_basis, degree); }
extern "C" __global__ void bspline_bwd_finish_f32(float* __restrict__ gx, const float* __restrict__ glo, const float* __restrict__ ghi, const int* __restrict__ extremes, int m) { bspline_bwd_finish(gx, glo, ghi, extremes, m); }
