// Around the device eigensolver (cuSOLVER dsyevd in f64): its f64 input, and its output packed in
// the layout of hagcn_autodiff's Backend::symmetric_eigen.
//
// Reference: hagcn_linalg::symmetric_eigen (crates/hagcn-linalg/src/eigh.rs), through
// hagcn_autodiff's host::symmetric_eigen:
//   S_ij = 0.5 · ((f64) a_ij + (f64) a_ji)            (exactly symmetric: f64 addition commutes)
//   (λ, V) = dsyevd(S)                                  (λ ascending, V column-major)
//   U = (T) V, each column negated when its first largest-magnitude entry (compared as T, after
//       the cast) is negative; an all-zero column is left alone
//   packed = [U; λᵀ]                                    ((n + 1) × n, row-major)
// so that on the same eigensolver output the packed result equals the host's bit for bit.
//
// A non-finite input entry, eigenvector entry or eigenvalue sets *bad to 1 (the host
// initialises it to 0): the host then falls back to (or reports the error of) the CPU path.
//
// Launch: eigen_symmetrize_* any 1-D grid; eigen_pack_* one block per column (grid-stride over
// columns), blockDim.x a multiple of 32.

template <typename T>
__device__ void eigen_symmetrize(const T* __restrict__ a, double* __restrict__ s, int* __restrict__ bad, int n) {
    const long long total = (long long)n * n;
    for (long long idx = hagcn_global_id(); idx < total; idx += hagcn_grid_threads()) {
        const long long i = idx / n, j = idx % n;
        const T x = a[idx];
        if (!hagcn_is_finite(x)) atomicMax(bad, 1);
        s[idx] = 0.5 * ((double)x + (double)a[j * n + i]);
    }
}

// Keeps in (best, idx) the larger magnitude, and of equal magnitudes the lower row index.
template <typename T>
__device__ __forceinline__ void eigen_argmax_merge(T& best, int& idx, T other_best, int other_idx) {
    if (other_best > best || (other_best == best && other_idx < idx)) {
        best = other_best;
        idx = other_idx;
    }
}

// The block-wide (largest magnitude, its first row): every thread gets the result. `best_s` and
// `idx_s` are __shared__ arrays of HAGCN_MAX_WARPS elements; the first barrier lets a caller
// reuse them in a loop.
template <typename T>
__device__ __forceinline__ void eigen_block_argmax(T& best, int& idx, T* best_s, int* idx_s) {
    const unsigned int lane = threadIdx.x % HAGCN_WARP;
    const unsigned int warp = threadIdx.x / HAGCN_WARP;
    const unsigned int n_warps = blockDim.x / HAGCN_WARP;
    for (int offset = HAGCN_WARP / 2; offset > 0; offset >>= 1) {
        const T b = __shfl_xor_sync(HAGCN_FULL_MASK, best, offset);
        const int i = __shfl_xor_sync(HAGCN_FULL_MASK, idx, offset);
        eigen_argmax_merge(best, idx, b, i);
    }
    __syncthreads();
    if (lane == 0) {
        best_s[warp] = best;
        idx_s[warp] = idx;
    }
    __syncthreads();
    best = lane < n_warps ? best_s[lane] : T(0);
    idx = lane < n_warps ? idx_s[lane] : 0x7fffffff;
    for (int offset = HAGCN_WARP / 2; offset > 0; offset >>= 1) {
        const T b = __shfl_xor_sync(HAGCN_FULL_MASK, best, offset);
        const int i = __shfl_xor_sync(HAGCN_FULL_MASK, idx, offset);
        eigen_argmax_merge(best, idx, b, i);
    }
}

template <typename T>
__device__ void eigen_pack(const double* __restrict__ v, const double* __restrict__ w, T* __restrict__ packed,
                           int* __restrict__ bad, int n) {
    __shared__ T best_s[HAGCN_MAX_WARPS];
    __shared__ int idx_s[HAGCN_MAX_WARPS];
    for (int col = blockIdx.x; col < n; col += gridDim.x) {
        const double* vc = v + (long long)col * n;  // column-major: column `col` is contiguous
        // As hagcn_linalg::canonicalize_signs: best starts at 0 and only a strictly larger
        // magnitude replaces it, so zeros (and NaN) never win; rows ascend within a thread.
        T best = T(0);
        int idx = n;
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            const double x = vc[i];
            if (!hagcn_is_finite(x)) atomicMax(bad, 1);
            const T m = hagcn_abs((T)x);
            if (m > best) {
                best = m;
                idx = i;
            }
        }
        eigen_block_argmax(best, idx, best_s, idx_s);
        const bool negate = idx < n && (T)vc[idx] < T(0);
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            const T x = (T)vc[i];
            packed[(long long)i * n + col] = negate ? -x : x;
        }
        if (threadIdx.x == 0) {
            if (!hagcn_is_finite(w[col])) atomicMax(bad, 1);
            packed[(long long)n * n + col] = (T)w[col];
        }
    }
}

extern "C" __global__ void eigen_symmetrize_f32(const float* __restrict__ a, double* __restrict__ s, int* __restrict__ bad, int n) { eigen_symmetrize(a, s, bad, n); }
extern "C" __global__ void eigen_pack_f32(const double* __restrict__ v, const double* __restrict__ w, float* __restrict__ packed, int* __restrict__ bad, int n) { eigen_pack(v, w, packed, bad, n); }
