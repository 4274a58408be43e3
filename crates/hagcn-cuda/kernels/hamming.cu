// The top-K ranking of a database of packed binary codes by Hamming distance.
//
// Codes are `words` little-endian 64-bit words each (code bit b in word b/64, bit b%64: the
// faiss LSB-first byte layout read 8 bytes at a time, zero-padded), d(a, b) = Σ popc(a_w ^ b_w).
//
// Reference: hagcn_eval::hamming_topk (crates/hagcn-eval/src/rank.rs): for each query the first
// k database items of the order by (distance, index): ties broken by the lower database index.
// The kernel is the same counting sort: one warp per query
//  1. histograms the distances of the whole database (shared-memory atomics),
//  2. finds the cut-off distance t (the smallest with at least k items at distance ≤ t) and the
//     start offset of every bucket ≤ t,
//  3. scans the database again in index order, 32 items at a time; lanes with equal distances
//     are grouped with __match_any_sync, and a lane's place in its bucket is the bucket's cursor
//     plus the number of lower lanes in its group. So every bucket is filled in index order,
//     and bucket t stops at rank k.
// Launch: blockDim.x = 32 · warps (≤ HAGCN_TOPK_MAX_WARPS warps, one query each),
// n_bits ≤ HAGCN_TOPK_MAX_BITS, 1 ≤ k ≤ n_db (the host checks all three).

#define HAGCN_TOPK_MAX_BITS 512
#define HAGCN_TOPK_MAX_WARPS 8

__device__ __forceinline__ unsigned int hagcn_hamming(const hagcn_u64* __restrict__ a, const hagcn_u64* __restrict__ b,
                                                      int words) {
    unsigned int d = 0;
    for (int w = 0; w < words; ++w) d += (unsigned int)__popcll(a[w] ^ b[w]);
    return d;
}

extern "C" __global__ void hamming_topk_u64(const hagcn_u64* __restrict__ query, const hagcn_u64* __restrict__ db,
                                            unsigned int* __restrict__ out_idx, unsigned int* __restrict__ out_dist,
                                            int n_query, int n_db, int words, int n_bits, int k) {
    __shared__ unsigned int hist[HAGCN_TOPK_MAX_WARPS][HAGCN_TOPK_MAX_BITS + 1];
    const unsigned int lane = threadIdx.x % HAGCN_WARP;
    const unsigned int warp = threadIdx.x / HAGCN_WARP;
    const int warps_per_block = blockDim.x / HAGCN_WARP;
    unsigned int* h = hist[warp];
    for (long long q = (long long)blockIdx.x * warps_per_block + warp; q < n_query;
         q += (long long)gridDim.x * warps_per_block) {
        const hagcn_u64* qc = query + q * words;
        // 1. Histogram.
        for (int d = lane; d <= n_bits; d += HAGCN_WARP) h[d] = 0;
        __syncwarp();
        for (int i = lane; i < n_db; i += HAGCN_WARP) atomicAdd(&h[hagcn_hamming(qc, db + (long long)i * words, words)], 1u);
        __syncwarp();
        // 2. Cut-off and bucket offsets (bins ≤ n_bits + 1: lane 0 scans them).
        unsigned int cut = 0;
        if (lane == 0) {
            unsigned int total = 0;
            int d = 0;
            for (; d <= n_bits; ++d) {
                const unsigned int c = h[d];
                h[d] = total;
                total += c;
                if (total >= (unsigned int)k) break;
            }
            cut = (unsigned int)d;
        }
        cut = __shfl_sync(HAGCN_FULL_MASK, cut, 0);
        __syncwarp();
        // 3. Stable scatter in index order.
        for (int base = 0; base < n_db; base += HAGCN_WARP) {
            const int i = base + (int)lane;
            unsigned int d = 0xffffffffu;
            if (i < n_db) d = hagcn_hamming(qc, db + (long long)i * words, words);
            const bool keep = d <= cut;
            const unsigned int key = keep ? d : 0xffffffffu;
            const unsigned int peers = __match_any_sync(HAGCN_FULL_MASK, key);
            const unsigned int rank = (unsigned int)__popc(peers & ((1u << lane) - 1u));
            unsigned int pos = 0;
            if (keep) pos = h[d] + rank;
            __syncwarp();
            if (keep && rank == 0) h[d] += (unsigned int)__popc(peers);
            if (keep && pos < (unsigned int)k) {
                out_idx[q * k + pos] = (unsigned int)i;
                out_dist[q * k + pos] = d;
            }
            __syncwarp();
        }
    }
}
