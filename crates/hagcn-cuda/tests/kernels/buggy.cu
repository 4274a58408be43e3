// Deliberately broken kernels, compiled for the emulator and linked into test targets only
// (build.rs): the emulator's own tests check that it exposes each bug.

// Warp reductions launched with a block that is not a whole number of warps: the butterfly of
// the last, partial warp reads lanes that do not exist. On a GPU the result is undefined; the
// emulator returns NaN poison for those reads. Lane 0 of warp w writes out[w].
extern "C" __global__ void partial_warp_sum_f32(const float* __restrict__ x, float* __restrict__ out, int n) {
    float v = (int)threadIdx.x < n ? x[threadIdx.x] : 0.0f;
    v = hagcn_warp_sum(v);
    if (threadIdx.x % HAGCN_WARP == 0) out[threadIdx.x / HAGCN_WARP] = v;
}

// Half of every warp returns before a warp reduction: the shuffles read exited lanes (poison).
extern "C" __global__ void exited_lanes_sum_f32(const float* __restrict__ x, float* __restrict__ out, int n) {
    if (threadIdx.x % 2 == 1) return;
    float v = (int)threadIdx.x < n ? x[threadIdx.x] : 0.0f;
    v = hagcn_warp_sum(v);
    if (threadIdx.x == 0) out[0] = v;
}

// A missing __syncthreads between writing shared memory and reading a neighbour's entry: a data
// race that ThreadSanitizer reports (cargo xtask cuda-kernels --tsan checks that it does).
extern "C" __global__ void racy_shift_f32(const float* __restrict__ x, float* __restrict__ out, int n) {
    __shared__ float tile[1024];
    const int i = (int)threadIdx.x;
    tile[i] = i < n ? x[i] : 0.0f;
    // __syncthreads() belongs here.
    if (i < n) out[i] = tile[(i + 1) % blockDim.x];
}
