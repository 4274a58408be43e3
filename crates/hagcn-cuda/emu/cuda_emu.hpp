// cuda_emu.hpp: the CUDA built-ins on the CPU, so the kernels of crates/hagcn-cuda/kernels/
// compile with g++ (C++20) and run unchanged.
//
// Model (one launch at a time, one block at a time):
//  * `launch(name, grid, block, kernel, args...)` runs one std::thread per GPU thread of a
//    block (from a pool that is reused across launches); the same threads run every block of
//    the grid in turn (blockIdx changes, the thread keeps its threadIdx), with a barrier between
//    blocks. Launches are serialised by a global mutex, like a single CUDA stream.
//  * `threadIdx`, `blockIdx`, `blockDim`, `gridDim` are thread-locals.
//  * `__shared__` is `static`: one instance per kernel, shared by the block being run (only one
//    block runs at a time, so this is per-block storage). Only statically sized shared arrays
//    are supported (no `extern __shared__`).
//  * `__syncthreads()` is a block barrier. Threads that have returned from the kernel drop out
//    of it, as on sm_70+ hardware.
//  * Warp intrinsics (`__shfl_*_sync`, `__ballot_sync`, `__match_any_sync`, `__syncwarp`) go
//    through a per-warp exchange buffer between two warp barriers. Reading a lane that does not
//    exist (the tail of a partial warp), has returned, or is outside `mask` yields *poison*:
//    every byte 0xFF, which is a NaN for float and double (and all ones for integers). A
//    calling lane missing from its own `mask` aborts.
//  * Atomics go through std::atomic_ref; `__threadfence` is a sequentially consistent fence.
//  * Barriers are futex waits (C++20 atomic wait/notify). A watchdog thread per launch aborts,
//    naming the kernel, when threads have waited at a barrier for HAGCN_EMU_TIMEOUT_S seconds
//    (default 120) with no barrier opening: a divergent `__syncthreads`, or a warp intrinsic
//    some lanes never reach.
//
// Compile with -std=c++20 -pthread; add -fsanitize=thread for the ThreadSanitizer pass (every
// inter-thread communication above is an atomic with acquire/release ordering, a mutex, or a
// thread start/join, so TSan reports exactly the kernel's own races).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Qualifiers.
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __restrict__ __restrict
#define __shared__ static
#define __launch_bounds__(...)

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1) : x(x_), y(y_), z(z_) {}
};

/// The grid and block sizes the Rust side passes by value (`hagcn_cuda::emu::Dim3`).
struct hagcn_dim3 {
    unsigned int x, y, z;
};

inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace hagcn_emu {

constexpr int kWarp = 32;
constexpr std::uint64_t kPoison = ~std::uint64_t{0};

[[noreturn]] inline void fatal(const char* kernel, const char* what) {
    std::fprintf(stderr, "hagcn-emu: kernel %s: %s\n", kernel ? kernel : "?", what);
    std::fflush(stderr);
    std::abort();
}

inline std::chrono::seconds barrier_timeout() {
    static const std::chrono::seconds t = [] {
        const char* s = std::getenv("HAGCN_EMU_TIMEOUT_S");
        long v = s ? std::strtol(s, nullptr, 10) : 0;
        return std::chrono::seconds(v > 0 ? v : 120);
    }();
    return t;
}

/// What the watchdog of a launch observes: barrier releases (progress) and threads waiting.
struct Monitor {
    std::atomic<std::uint64_t> progress{0};
    std::atomic<int> waiting{0};
    std::atomic<const char*> waiting_at{"a barrier"};
};

/// A reusable barrier whose participants can drop out (exited threads), with an optional
/// completion step run by the last arriver before anybody is released.
///
/// State is one atomic word (expected participants << 32 | arrived), waiting is C++20
/// atomic wait/notify on a generation counter (a futex: no mutex for the woken threads to fight
/// over). A thread yields a few times before it sleeps, since all simulated threads share a few
/// cores. Deadlocks are reported by the launch's watchdog, which watches `Monitor`.
class Barrier {
public:
    void attach(Monitor* m) { monitor_ = m; }

    /// Only while nobody waits (before a block starts).
    void reset(int expected) {
        state_.store(pack(static_cast<std::uint32_t>(expected), 0), std::memory_order_release);
    }

    template <class F>
    void arrive_and_wait(const char* what, F&& completion) {
        const std::uint32_t gen = gen_.load(std::memory_order_acquire);
        std::uint64_t s = state_.load(std::memory_order_acquire);
        for (;;) {
            const std::uint32_t expected = static_cast<std::uint32_t>(s >> 32);
            const std::uint32_t arrived = static_cast<std::uint32_t>(s) + 1;
            const bool last = arrived >= expected;
            if (state_.compare_exchange_weak(s, pack(expected, last ? 0 : arrived), std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
                if (last) {
                    completion();
                    release();
                    return;
                }
                break;
            }
        }
        for (int spin = 0; spin < 4; ++spin) {
            if (gen_.load(std::memory_order_acquire) != gen) return;
            std::this_thread::yield();
        }
        monitor_->waiting_at.store(what, std::memory_order_relaxed);
        monitor_->waiting.fetch_add(1, std::memory_order_relaxed);
        while (gen_.load(std::memory_order_acquire) == gen) gen_.wait(gen, std::memory_order_acquire);
        monitor_->waiting.fetch_sub(1, std::memory_order_relaxed);
    }

    void arrive_and_wait(const char* what) {
        arrive_and_wait(what, [] {});
    }

    /// A participant leaves for good (its thread returned from the kernel).
    void drop() {
        std::uint64_t s = state_.load(std::memory_order_acquire);
        for (;;) {
            const std::uint32_t expected = static_cast<std::uint32_t>(s >> 32) - 1;
            const std::uint32_t arrived = static_cast<std::uint32_t>(s);
            const bool last = arrived > 0 && arrived >= expected;
            if (state_.compare_exchange_weak(s, pack(expected, last ? 0 : arrived), std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
                if (last) release();
                return;
            }
        }
    }

private:
    static std::uint64_t pack(std::uint32_t expected, std::uint32_t arrived) {
        return (static_cast<std::uint64_t>(expected) << 32) | arrived;
    }

    void release() {
        gen_.fetch_add(1, std::memory_order_acq_rel);
        gen_.notify_all();
        monitor_->progress.fetch_add(1, std::memory_order_relaxed);
    }

    std::atomic<std::uint64_t> state_{0};
    std::atomic<std::uint32_t> gen_{0};
    Monitor* monitor_ = nullptr;
};

struct Warp {
    Barrier barrier;
    int lanes = 0; // lanes that exist in this warp (< 32 for a partial warp)
    // The exchange round before which each lane returned from the kernel (UINT32_MAX while it
    // runs, 0 for lanes that do not exist). Lane l's slot is valid in round q iff exit[l] > q.
    std::atomic<std::uint32_t> exit_round[kWarp];
    // Exchange buffers, one 8-byte slot per lane, used alternately by successive rounds: a lane
    // can only start round r + 2 (reusing round r's buffer) after every lane has arrived at
    // round r + 1, that is, after every lane has finished reading round r.
    std::uint64_t slots[2][kWarp] = {};

    bool valid(int lane, std::uint32_t round) const {
        return exit_round[lane].load(std::memory_order_relaxed) > round;
    }
    unsigned int valid_mask(std::uint32_t round) const {
        unsigned int m = 0;
        for (int l = 0; l < kWarp; ++l)
            if (valid(l, round)) m |= 1u << l;
        return m;
    }
};

struct LaunchState {
    const char* kernel = nullptr;
    Monitor monitor;
    unsigned int n_threads = 0;
    Barrier block_barrier; // __syncthreads
    Barrier end_barrier;   // between blocks (every thread, exited or not)
    std::vector<std::unique_ptr<Warp>> warps;

    void start_block() {
        block_barrier.reset(static_cast<int>(n_threads));
        for (auto& w : warps) {
            w->barrier.reset(w->lanes);
            for (int l = 0; l < kWarp; ++l)
                w->exit_round[l].store(l < w->lanes ? ~std::uint32_t{0} : 0, std::memory_order_relaxed);
            for (auto& buf : w->slots)
                for (auto& s : buf) s = kPoison;
        }
    }
};

struct ThreadCtx {
    LaunchState* launch = nullptr;
    unsigned int lane = 0;
    unsigned int warp = 0;
    unsigned int round = 0; // warp exchange rounds done in this block (selects the buffer)
};

inline thread_local ThreadCtx ctx;

inline Warp& my_warp() {
    return *ctx.launch->warps[ctx.warp];
}

inline void check_mask(unsigned int mask, const char* what) {
    if (!((mask >> ctx.lane) & 1u)) {
        std::string msg = std::string(what) + " called by a lane outside its mask";
        fatal(ctx.launch->kernel, msg.c_str());
    }
}

/// One exchange round: publish `mine`, wait for the warp, read lane `src` (poison if `src` does
/// not exist, has returned or is not in `mask`).
template <class T>
T exchange(unsigned int mask, T mine, int src, const char* what) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a type over 8 bytes");
    check_mask(mask, what);
    Warp& w = my_warp();
    const std::uint32_t round = ctx.round++;
    std::uint64_t* slots = w.slots[round % 2];
    std::uint64_t bits = kPoison;
    std::memcpy(&bits, &mine, sizeof(T));
    slots[ctx.lane] = bits;
    w.barrier.arrive_and_wait(what);
    std::uint64_t got = kPoison;
    if (src >= 0 && src < kWarp && ((mask >> src) & 1u) && w.valid(src, round)) got = slots[src];
    T out;
    std::memcpy(&out, &got, sizeof(T));
    return out;
}

/// Every alive lane in `mask` publishes `mine`; `f(values, present)` computes this lane's result.
template <class F>
unsigned int gather(unsigned int mask, std::uint64_t mine, const char* what, F&& f) {
    check_mask(mask, what);
    Warp& w = my_warp();
    const std::uint32_t round = ctx.round++;
    std::uint64_t* slots = w.slots[round % 2];
    slots[ctx.lane] = mine;
    w.barrier.arrive_and_wait(what);
    const unsigned int present = mask & w.valid_mask(round);
    return f(slots, present);
}

inline void thread_exit() {
    // Lanes still reading the last round see this lane as valid (its exit round is later);
    // every later round sees it as gone, because that round's barrier waits for the drop below.
    my_warp().exit_round[ctx.lane].store(ctx.round, std::memory_order_relaxed);
    my_warp().barrier.drop();
    ctx.launch->block_barrier.drop();
}

inline std::mutex& launch_mutex() {
    static std::mutex m;
    return m;
}

/// The simulated GPU threads: a pool of std::threads that grows to the largest block launched
/// and is reused by every launch (creating a thread costs tens of microseconds; a test makes
/// thousands of launches). Only one launch runs at a time, so `run` is never concurrent. The
/// threads are never joined: they sleep in a futex wait when the process exits.
class Pool {
public:
    /// Runs body(t) for t in [0, n) on n distinct pool threads and waits for all of them.
    void run(unsigned int n, const std::function<void(unsigned int)>& body) {
        while (workers_.size() < n) {
            auto w = std::make_shared<Worker>();
            std::thread([this, w] { loop(*w); }).detach();
            workers_.push_back(std::move(w));
        }
        remaining_.store(n, std::memory_order_release);
        for (unsigned int t = 0; t < n; ++t) {
            Worker& w = *workers_[t];
            w.job = [&body, t] { body(t); };
            w.gen.fetch_add(1, std::memory_order_acq_rel);
            w.gen.notify_one();
        }
        for (unsigned int r; (r = remaining_.load(std::memory_order_acquire)) != 0;)
            remaining_.wait(r, std::memory_order_acquire);
        for (unsigned int t = 0; t < n; ++t) workers_[t]->job = nullptr;
    }

private:
    struct Worker {
        std::atomic<std::uint32_t> gen{0};
        std::function<void()> job;
    };

    void loop(Worker& w) {
        std::uint32_t seen = 0;
        for (;;) {
            std::uint32_t g;
            while ((g = w.gen.load(std::memory_order_acquire)) == seen) w.gen.wait(seen, std::memory_order_acquire);
            seen = g;
            w.job();
            if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_all();
        }
    }

    std::vector<std::shared_ptr<Worker>> workers_;
    std::atomic<std::uint32_t> remaining_{0};
};

inline Pool& pool() {
    static Pool* p = new Pool(); // never destroyed, see above
    return *p;
}

inline thread_local std::string last_error;

inline int fail(const char* kernel, const std::string& msg) {
    last_error = std::string("kernel ") + kernel + ": " + msg;
    return 1;
}

/// Runs `kernel(args...)` over `grid` × `block` threads. Returns 0, or 1 with `last_error` set
/// for an invalid configuration (nothing runs then).
template <class... P>
int launch(const char* name, hagcn_dim3 grid, hagcn_dim3 block, void (*kernel)(P...),
           std::type_identity_t<P>... args) {
    const unsigned long long n_threads = 1ull * block.x * block.y * block.z;
    const unsigned long long n_blocks = 1ull * grid.x * grid.y * grid.z;
    if (n_threads == 0 || n_blocks == 0) return fail(name, "empty grid or block");
    if (n_threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64)
        return fail(name, "block over 1024 threads (or over 1024 × 1024 × 64)");
    if (grid.y > 65535 || grid.z > 65535) return fail(name, "grid.y or grid.z over 65535");

    std::lock_guard<std::mutex> serial(launch_mutex());
    LaunchState state;
    state.kernel = name;
    state.n_threads = static_cast<unsigned int>(n_threads);
    state.block_barrier.attach(&state.monitor);
    state.end_barrier.attach(&state.monitor);
    state.end_barrier.reset(static_cast<int>(n_threads));
    const unsigned int n_warps = (state.n_threads + kWarp - 1) / kWarp;
    for (unsigned int w = 0; w < n_warps; ++w) {
        auto warp = std::make_unique<Warp>();
        warp->lanes = static_cast<int>(std::min<unsigned int>(kWarp, state.n_threads - w * kWarp));
        warp->barrier.attach(&state.monitor);
        state.warps.push_back(std::move(warp));
    }
    state.start_block();

    auto body = [&](unsigned int t) {
        ctx = ThreadCtx{&state, t % kWarp, t / kWarp};
        blockDim = dim3(block.x, block.y, block.z);
        gridDim = dim3(grid.x, grid.y, grid.z);
        threadIdx = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
        for (unsigned long long b = 0; b < n_blocks; ++b) {
            blockIdx = uint3{static_cast<unsigned int>(b % grid.x), static_cast<unsigned int>((b / grid.x) % grid.y),
                             static_cast<unsigned int>(b / (1ull * grid.x * grid.y))};
            ctx.round = 0;
            kernel(args...);
            thread_exit();
            // The last thread to finish the block resets the barriers and the exchange
            // buffers for the next one before anybody starts it.
            state.end_barrier.arrive_and_wait("the end of a block", [&] { state.start_block(); });
        }
        ctx = ThreadCtx{};
    };

    // The watchdog: threads waiting at a barrier while no barrier opens for the timeout means
    // a barrier some threads never reach.
    std::mutex done_m;
    std::condition_variable done_cv;
    bool done = false;
    std::thread watchdog([&] {
        std::unique_lock<std::mutex> lk(done_m);
        std::uint64_t last = state.monitor.progress.load();
        auto since = std::chrono::steady_clock::now();
        while (!done_cv.wait_for(lk, std::chrono::milliseconds(200), [&] { return done; })) {
            const std::uint64_t now = state.monitor.progress.load();
            if (now != last || state.monitor.waiting.load() == 0) {
                last = now;
                since = std::chrono::steady_clock::now();
            } else if (std::chrono::steady_clock::now() - since > barrier_timeout()) {
                std::string msg = std::string("threads waited at ") + state.monitor.waiting_at.load() +
                                  " longer than HAGCN_EMU_TIMEOUT_S: a barrier some threads never reach (a divergent "
                                  "__syncthreads, or a warp intrinsic called by only part of a warp)";
                fatal(name, msg.c_str());
            }
        }
    });

    pool().run(state.n_threads, body);
    {
        std::lock_guard<std::mutex> lk(done_m);
        done = true;
    }
    done_cv.notify_all();
    watchdog.join();
    return 0;
}

template <class T, class U>
T bit_cast_to(U v) {
    static_assert(sizeof(T) == sizeof(U));
    T out;
    std::memcpy(&out, &v, sizeof(T));
    return out;
}

} // namespace hagcn_emu

// ---------------------------------------------------------------------------------------------
// Synchronisation and warp intrinsics.
inline void __syncthreads() {
    hagcn_emu::ctx.launch->block_barrier.arrive_and_wait("__syncthreads");
}

inline void __syncwarp(unsigned int mask = 0xffffffffu) {
    hagcn_emu::check_mask(mask, "__syncwarp");
    hagcn_emu::my_warp().barrier.arrive_and_wait("__syncwarp");
}

inline void __threadfence() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
}
inline void __threadfence_block() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

inline unsigned int __activemask() {
    return hagcn_emu::my_warp().valid_mask(hagcn_emu::ctx.round);
}

template <class T>
T __shfl_sync(unsigned int mask, T v, int src_lane, int width = warpSize) {
    const int lane = static_cast<int>(hagcn_emu::ctx.lane);
    const int base = lane - lane % width;
    return hagcn_emu::exchange(mask, v, base + ((src_lane % width) + width) % width, "__shfl_sync");
}

template <class T>
T __shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width = warpSize) {
    const int lane = static_cast<int>(hagcn_emu::ctx.lane);
    const int base = lane - lane % width;
    int src = lane ^ lane_mask;
    if (src < base || src >= base + width) src = lane; // CUDA: outside the segment → own value
    return hagcn_emu::exchange(mask, v, src, "__shfl_xor_sync");
}

template <class T>
T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = warpSize) {
    const int lane = static_cast<int>(hagcn_emu::ctx.lane);
    const int base = lane - lane % width;
    int src = lane + static_cast<int>(delta);
    if (src >= base + width) src = lane;
    return hagcn_emu::exchange(mask, v, src, "__shfl_down_sync");
}

template <class T>
T __shfl_up_sync(unsigned int mask, T v, unsigned int delta, int width = warpSize) {
    const int lane = static_cast<int>(hagcn_emu::ctx.lane);
    const int base = lane - lane % width;
    int src = lane - static_cast<int>(delta);
    if (src < base) src = lane;
    return hagcn_emu::exchange(mask, v, src, "__shfl_up_sync");
}

inline unsigned int __ballot_sync(unsigned int mask, int pred) {
    return hagcn_emu::gather(mask, pred ? 1 : 0, "__ballot_sync", [](const std::uint64_t* s, unsigned int present) {
        unsigned int out = 0;
        for (int l = 0; l < hagcn_emu::kWarp; ++l)
            if (((present >> l) & 1u) && s[l] == 1) out |= 1u << l;
        return out;
    });
}

inline int __all_sync(unsigned int mask, int pred) {
    return __ballot_sync(mask, pred) == (mask & __activemask());
}
inline int __any_sync(unsigned int mask, int pred) {
    return __ballot_sync(mask, pred) != 0;
}

template <class T>
unsigned int __match_any_sync(unsigned int mask, T value) {
    static_assert(sizeof(T) <= 8);
    std::uint64_t mine = 0;
    std::memcpy(&mine, &value, sizeof(T));
    return hagcn_emu::gather(mask, mine, "__match_any_sync", [mine](const std::uint64_t* s, unsigned int present) {
        unsigned int out = 0;
        for (int l = 0; l < hagcn_emu::kWarp; ++l)
            if (((present >> l) & 1u) && s[l] == mine) out |= 1u << l;
        return out;
    });
}

// ---------------------------------------------------------------------------------------------
// Atomics.
template <class T>
T atomicAdd(T* addr, T v) {
    return std::atomic_ref<T>(*addr).fetch_add(v);
}
template <class T>
T atomicSub(T* addr, T v) {
    return std::atomic_ref<T>(*addr).fetch_sub(v);
}
template <class T>
T atomicExch(T* addr, T v) {
    return std::atomic_ref<T>(*addr).exchange(v);
}
template <class T>
T atomicCAS(T* addr, T compare, T v) {
    std::atomic_ref<T>(*addr).compare_exchange_strong(compare, v);
    return compare;
}
template <class T>
T atomicMin(T* addr, T v) {
    std::atomic_ref<T> a(*addr);
    T old = a.load();
    while (v < old && !a.compare_exchange_weak(old, v)) {
    }
    return old;
}
template <class T>
T atomicMax(T* addr, T v) {
    std::atomic_ref<T> a(*addr);
    T old = a.load();
    while (v > old && !a.compare_exchange_weak(old, v)) {
    }
    return old;
}

// ---------------------------------------------------------------------------------------------
// Integer and bit intrinsics.
inline int __popc(unsigned int x) {
    return std::popcount(x);
}
inline int __popcll(unsigned long long x) {
    return std::popcount(x);
}
inline int __clz(unsigned int x) {
    return std::countl_zero(x);
}
inline int __clzll(unsigned long long x) {
    return std::countl_zero(x);
}
inline int __ffs(unsigned int x) {
    return x ? std::countr_zero(x) + 1 : 0;
}
inline int __float_as_int(float x) {
    return hagcn_emu::bit_cast_to<int>(x);
}
inline unsigned int __float_as_uint(float x) {
    return hagcn_emu::bit_cast_to<unsigned int>(x);
}
inline float __int_as_float(int x) {
    return hagcn_emu::bit_cast_to<float>(x);
}
inline float __uint_as_float(unsigned int x) {
    return hagcn_emu::bit_cast_to<float>(x);
}
inline long long __double_as_longlong(double x) {
    return hagcn_emu::bit_cast_to<long long>(x);
}
inline double __longlong_as_double(long long x) {
    return hagcn_emu::bit_cast_to<double>(x);
}
// Conversion with round-to-nearest-even: C++'s double → float conversion in the default rounding
// mode, which the emulator never changes.
inline float __double2float_rn(double x) {
    return static_cast<float>(x);
}

inline int min(int a, int b) {
    return a < b ? a : b;
}
inline int max(int a, int b) {
    return a > b ? a : b;
}
inline unsigned int min(unsigned int a, unsigned int b) {
    return a < b ? a : b;
}
inline unsigned int max(unsigned int a, unsigned int b) {
    return a > b ? a : b;
}
inline long long min(long long a, long long b) {
    return a < b ? a : b;
}
inline long long max(long long a, long long b) {
    return a > b ? a : b;
}
inline unsigned long long min(unsigned long long a, unsigned long long b) {
    return a < b ? a : b;
}
inline unsigned long long max(unsigned long long a, unsigned long long b) {
    return a > b ? a : b;
}

// ---------------------------------------------------------------------------------------------
// Math: the CUDA math API's accurate functions are the C library's (<cmath> declares sqrtf,
// expf, erff, fmaf, ... globally); the fast intrinsics map to them as well.
inline float rsqrtf(float x) {
    return 1.0f / std::sqrt(x);
}
inline double rsqrt(double x) {
    return 1.0 / std::sqrt(x);
}
inline float __expf(float x) {
    return std::exp(x);
}
inline float __logf(float x) {
    return std::log(x);
}
inline float __fdividef(float a, float b) {
    return a / b;
}
inline float __saturatef(float x) {
    return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}
