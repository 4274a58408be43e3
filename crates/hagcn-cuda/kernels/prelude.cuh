// prelude.cuh: shared by every kernel file of crates/hagcn-cuda/kernels/.
//
// Prepended to each .cu file before NVRTC compiles it (src/nvrtc.rs), and included before each
// .cu file when the emulator compiles it with g++ (emu/cuda_emu.hpp). It uses no standard
// header: NVRTC has none, and the CUDA math API (sqrtf, expf, erff, fmaf, ...) is built in.
//
// Conventions:
//  * 1-D blocks. Kernels that reduce over a block need blockDim.x to be a multiple of 32 (whole
//    warps) and at most 1024; the host launchers guarantee it, and the emulator turns a partial
//    warp into NaN poison, so a violation shows in the tests.
//  * Sizes are `int`; flat indices are `long long` so that `row * cols` cannot overflow.
//  * Formulas follow the Rust references operation by operation (same association, explicit
//    fmaf where the reference uses mul_add); NVRTC compiles with --fmad=false and the emulator
//    with -ffp-contract=off, so neither contracts a product and a sum into one rounding.
#ifndef HAGCN_PRELUDE_CUH
#define HAGCN_PRELUDE_CUH

#define HAGCN_WARP 32
#define HAGCN_FULL_MASK 0xffffffffu
#define HAGCN_MAX_WARPS 32

typedef unsigned long long hagcn_u64;

// Flat index of this thread in a 1-D grid, and the grid's thread count.
__device__ __forceinline__ long long hagcn_global_id() {
    return (long long)blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ long long hagcn_grid_threads() {
    return (long long)blockDim.x * gridDim.x;
}

__device__ __forceinline__ bool hagcn_is_finite(float x) {
    return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u;
}
__device__ __forceinline__ bool hagcn_is_finite(double x) {
    return (__double_as_longlong(x) & 0x7ff0000000000000ll) != 0x7ff0000000000000ll;
}

__device__ __forceinline__ float hagcn_sqrt(float x) { return sqrtf(x); }
__device__ __forceinline__ double hagcn_sqrt(double x) { return sqrt(x); }
__device__ __forceinline__ float hagcn_abs(float x) { return fabsf(x); }
__device__ __forceinline__ double hagcn_abs(double x) { return fabs(x); }
__device__ __forceinline__ float hagcn_exp(float x) { return expf(x); }
__device__ __forceinline__ double hagcn_exp(double x) { return exp(x); }

// Sum over the 32 lanes of a warp; every lane gets the total (butterfly, fixed order).
template <typename T>
__device__ __forceinline__ T hagcn_warp_sum(T v) {
    for (int offset = HAGCN_WARP / 2; offset > 0; offset >>= 1) v += __shfl_xor_sync(HAGCN_FULL_MASK, v, offset);
    return v;
}

// Sum of `v` over the block; every thread gets the total. `scratch` is a __shared__ array of
// HAGCN_MAX_WARPS elements. Fixed order for a given blockDim.x, so results are reproducible.
// The first barrier lets a caller reuse `scratch` in a loop.
template <typename T>
__device__ __forceinline__ T hagcn_block_sum(T v, T* scratch) {
    const unsigned int lane = threadIdx.x % HAGCN_WARP;
    const unsigned int warp = threadIdx.x / HAGCN_WARP;
    const unsigned int n_warps = blockDim.x / HAGCN_WARP;
    v = hagcn_warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    T total = lane < n_warps ? scratch[lane] : T(0);
    return hagcn_warp_sum(total);
}

#endif // HAGCN_PRELUDE_CUH
