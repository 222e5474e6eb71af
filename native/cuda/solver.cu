// CUDA cost matrix and JV initialisation (design: gpu.hpp). Every kernel here has a host twin that
// defines it: the cost epilogue is native/core/cost.cpp's, phases 1-3 are parallelInitReference in
// native/core/lap.cpp. scripts/gpu-check.sh compares the two on a GPU machine.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "device.hpp"
#include "gpu.hpp"

namespace saematch::cuda {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    throw CudaError(std::string("CUDA ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
}
void checkLaunch(const char* what) {
  check(cudaGetLastError(), what);
}

// Device memory owned for the duration of one call (freed on every exit path).
template <typename T>
struct DeviceArray {
  T* p = nullptr;
  size_t n = 0;
  DeviceArray(size_t count, const char* what) : n(count) {
    if (count) check(cudaMalloc(&p, count * sizeof(T)), what);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (p) cudaFree(p);
  }
};

void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

// ---------------------------------------------------------------- cost matrix

// Squared norms in float64, one warp per row (the CPU path's squaredNorms).
__global__ void sqNormsKernel(const float* __restrict__ x, int64_t n, int64_t k, double* __restrict__ out,
                              int cosine) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (row >= n) return;
  const float* r = x + row * k;
  double s = 0;
  for (int64_t p = lane; p < k; p += 32) s += static_cast<double>(r[p]) * r[p];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(0xffffffffu, s, o);
  if (lane == 0) out[row] = cosine ? (s > 0 ? 1.0 / sqrt(s) : 0.0) : s;
}

// C = epilogue(A B^T): a 128 x 128 tile per block of 256 threads, each thread an 8 x 8 register
// tile, k in steps of 8 through shared memory (stored k-major so the inner loop reads rows of it).
// Plain FP32 FMA: TF32 rounding can change an SAE optimum (costs differ by a few percent, REFERENCE.md).
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;

// The epilogue both cost kernels share (cost.cpp's, in float64): a thread's TM x TN products a.b
// become squared distances |a|^2 + |b|^2 - 2 a.b clamped at 0, or cosine distances 1 - a.b/(|a||b|)
// (normA/normB then hold inverse lengths), stored where they fall inside the matrix.
__device__ __forceinline__ void storeCosts(const float (&acc)[TM][TN], int64_t i0, int64_t j0, int64_t na, int64_t nb,
                                           const double* __restrict__ normA, const double* __restrict__ normB,
                                           int cosine, float* __restrict__ C) {
#pragma unroll
  for (int m = 0; m < TM; ++m) {
    const int64_t i = i0 + m;
    if (i >= na) continue;
    const double ni = normA[i];
#pragma unroll
    for (int q = 0; q < TN; ++q) {
      const int64_t j = j0 + q;
      if (j >= nb) continue;
      const double dot = static_cast<double>(acc[m][q]);
      double s;
      if (cosine) {
        s = 1.0 - dot * ni * normB[j];
      } else {
        s = ni + normB[j] - 2.0 * dot;
        s = s > 0 ? s : 0.0;
      }
      C[i * nb + j] = static_cast<float>(s);
    }
  }
}

__global__ void __launch_bounds__(256) costKernel(const float* __restrict__ A, const float* __restrict__ B,
                                                  int64_t na, int64_t nb, int64_t k,
                                                  const double* __restrict__ normA,
                                                  const double* __restrict__ normB, int cosine,
                                                  float* __restrict__ C) {
  __shared__ float As[BK][BM];
  __shared__ float Bs[BK][BN];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * BM, col0 = static_cast<int64_t>(blockIdx.x) * BN;
  // Loading: 128 rows x 8 k-values per operand; thread t loads row t/2, k-values (t%2)*4 .. +3.
  const int lr = tid >> 1, lk = (tid & 1) * 4;
  const int64_t ra = row0 + lr, rb = col0 + lr;
  float acc[TM][TN];
#pragma unroll
  for (int m = 0; m < TM; ++m)
#pragma unroll
    for (int q = 0; q < TN; ++q) acc[m][q] = 0.0f;
  for (int64_t p0 = 0; p0 < k; p0 += BK) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const int64_t p = p0 + lk + q;
      As[lk + q][lr] = (ra < na && p < k) ? A[ra * k + p] : 0.0f;
      Bs[lk + q][lr] = (rb < nb && p < k) ? B[rb * k + p] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int p = 0; p < BK; ++p) {
      float av[TM], bv[TN];
#pragma unroll
      for (int m = 0; m < TM; ++m) av[m] = As[p][ty * TM + m];
#pragma unroll
      for (int q = 0; q < TN; ++q) bv[q] = Bs[p][tx * TN + q];
#pragma unroll
      for (int m = 0; m < TM; ++m)
#pragma unroll
        for (int q = 0; q < TN; ++q) acc[m][q] = fmaf(av[m], bv[q], acc[m][q]);
    }
    __syncthreads();
  }
  storeCosts(acc, row0 + ty * TM, col0 + tx * TN, na, nb, normA, normB, cosine, C);
}

// The same tiles and epilogue with the two usual latency fixes: the next k-slice is fetched from
// global memory into registers (one float4 per operand and thread) while the current one is
// multiplied out of shared memory, and shared memory is double-buffered so each slice costs one
// barrier instead of two. VEC needs k % 4 == 0 (16-byte aligned float4 rows); the host picks it.
// SAE_MATCH_CUDA_KERNEL=simple selects costKernel above (the reference when this one is in doubt).
template <bool VEC>
__global__ void __launch_bounds__(256, 2) costKernelPipelined(const float* __restrict__ A, const float* __restrict__ B,
                                                           int64_t na, int64_t nb, int64_t k,
                                                           const double* __restrict__ normA,
                                                           const double* __restrict__ normB, int cosine,
                                                           float* __restrict__ C) {
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];
  const int tid = threadIdx.x;
  const int tx = tid % 16, ty = tid / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * BM, col0 = static_cast<int64_t>(blockIdx.x) * BN;
  const int lr = tid >> 1, lk = (tid & 1) * 4;
  const int64_t ra = row0 + lr, rb = col0 + lr;
  float ga[4], gb[4];
  auto fetch = [&](int64_t p0) {
    const int64_t p = p0 + lk;
    if (VEC && p + 3 < k) {
      const float4 x = ra < na ? *reinterpret_cast<const float4*>(A + ra * k + p) : make_float4(0.f, 0.f, 0.f, 0.f);
      const float4 y = rb < nb ? *reinterpret_cast<const float4*>(B + rb * k + p) : make_float4(0.f, 0.f, 0.f, 0.f);
      ga[0] = x.x, ga[1] = x.y, ga[2] = x.z, ga[3] = x.w;
      gb[0] = y.x, gb[1] = y.y, gb[2] = y.z, gb[3] = y.w;
    } else {
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        ga[q] = (ra < na && p + q < k) ? A[ra * k + p + q] : 0.0f;
        gb[q] = (rb < nb && p + q < k) ? B[rb * k + p + q] : 0.0f;
      }
    }
  };
  auto stash = [&](int buf) {
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      As[buf][lk + q][lr] = ga[q];
      Bs[buf][lk + q][lr] = gb[q];
    }
  };
  float acc[TM][TN];
#pragma unroll
  for (int m = 0; m < TM; ++m)
#pragma unroll
    for (int q = 0; q < TN; ++q) acc[m][q] = 0.0f;
  fetch(0);
  stash(0);
  __syncthreads();
  int buf = 0;
  for (int64_t p0 = 0; p0 < k; p0 += BK) {
    const bool more = p0 + BK < k;
    if (more) fetch(p0 + BK);  // in flight while this slice is multiplied
#pragma unroll
    for (int p = 0; p < BK; ++p) {
      float av[TM], bv[TN];
      const float4 a0 = *reinterpret_cast<const float4*>(&As[buf][p][ty * TM]);
      const float4 a1 = *reinterpret_cast<const float4*>(&As[buf][p][ty * TM + 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&Bs[buf][p][tx * TN]);
      const float4 b1 = *reinterpret_cast<const float4*>(&Bs[buf][p][tx * TN + 4]);
      av[0] = a0.x, av[1] = a0.y, av[2] = a0.z, av[3] = a0.w, av[4] = a1.x, av[5] = a1.y, av[6] = a1.z, av[7] = a1.w;
      bv[0] = b0.x, bv[1] = b0.y, bv[2] = b0.z, bv[3] = b0.w, bv[4] = b1.x, bv[5] = b1.y, bv[6] = b1.z, bv[7] = b1.w;
#pragma unroll
      for (int m = 0; m < TM; ++m)
#pragma unroll
        for (int q = 0; q < TN; ++q) acc[m][q] = fmaf(av[m], bv[q], acc[m][q]);
    }
    // The other buffer was last read in the previous iteration, before its closing barrier.
    if (more) stash(buf ^ 1);
    __syncthreads();
    buf ^= 1;
  }
  storeCosts(acc, row0 + ty * TM, col0 + tx * TN, na, nb, normA, normB, cosine, C);
}

// ---------------------------------------------------------------- phase 4 on the device

// JV's shortest augmenting paths (lap.cpp's augment(), same rules: relax with h, prefer a free column
// on ties, v += d - dmin on the scanned columns, flip the path), for every free row in turn, in ONE
// block that stays resident: a Dijkstra step is a relaxation over all columns by 1024 threads and a
// block-wide argmin, with no launch and no host round trip per step. d, pred and the scanned list
// live in global memory (L2-resident at 16k: ~200 KB). The host checks the result like any warm
// start (a wrong row is freed and augmented there), so a fault here costs time, never exactness.
constexpr int kAugThreads = 1024;

struct MinAtD {
  double value;
  int32_t index;
};

// The host's kernels::offer: strictly smaller, or equal with a smaller index. An unreachable column
// (d = +inf) is never offered, so "nothing reachable" stays index -1.
__device__ inline void offerMin(MinAtD& m, double value, int32_t index) {
  if (value < m.value || (value == m.value && m.index >= 0 && index >= 0 && index < m.index)) {
    m.value = value;
    m.index = index;
  }
}

// Block-wide argmin of (assigned, free) pairs; every thread gets the result.
__device__ void blockArgmin2(MinAtD& a, MinAtD& u) {
  for (int o = 16; o > 0; o >>= 1) {
    MinAtD oa{__shfl_down_sync(0xffffffffu, a.value, o), __shfl_down_sync(0xffffffffu, a.index, o)};
    MinAtD ou{__shfl_down_sync(0xffffffffu, u.value, o), __shfl_down_sync(0xffffffffu, u.index, o)};
    offerMin(a, oa.value, oa.index);
    offerMin(u, ou.value, ou.index);
  }
  __shared__ MinAtD pa[kAugThreads / 32], pu[kAugThreads / 32];
  __shared__ MinAtD ra, ru;
  if ((threadIdx.x & 31) == 0) {
    pa[threadIdx.x / 32] = a;
    pu[threadIdx.x / 32] = u;
  }
  __syncthreads();
  if (threadIdx.x < 32) {
    MinAtD x = threadIdx.x < kAugThreads / 32 ? pa[threadIdx.x] : MinAtD{INFINITY, -1};
    MinAtD z = threadIdx.x < kAugThreads / 32 ? pu[threadIdx.x] : MinAtD{INFINITY, -1};
    for (int o = 16; o > 0; o >>= 1) {
      MinAtD ox{__shfl_down_sync(0xffffffffu, x.value, o), __shfl_down_sync(0xffffffffu, x.index, o)};
      MinAtD oz{__shfl_down_sync(0xffffffffu, z.value, o), __shfl_down_sync(0xffffffffu, z.index, o)};
      offerMin(x, ox.value, ox.index);
      offerMin(z, oz.value, oz.index);
    }
    if (threadIdx.x == 0) {
      ra = x;
      ru = z;
    }
  }
  __syncthreads();
  a = ra;
  u = ru;
  __syncthreads();  // ra/ru are rewritten by the next call
}

// Relaxes every unscanned column from row i at offset h, then the block's argmins.
__device__ void relaxRow(const float* __restrict__ C, int64_t n, const double* __restrict__ v,
                         const int32_t* __restrict__ y, double* __restrict__ d, int32_t* __restrict__ pred,
                         int32_t i, double h, MinAtD& a, MinAtD& u) {
  a = MinAtD{INFINITY, -1};
  u = MinAtD{INFINITY, -1};
  const float* row = C + static_cast<int64_t>(i) * n;
  for (int64_t j = threadIdx.x; j < n; j += kAugThreads) {
    const double nd = static_cast<double>(row[j]) - v[j] - h;
    double dj = d[j];
    if (nd < dj) {  // false for scanned columns (d = NaN)
      dj = nd;
      d[j] = nd;
      pred[j] = i;
    }
    if (y[j] < 0) offerMin(u, dj, static_cast<int32_t>(j));
    else offerMin(a, dj, static_cast<int32_t>(j));
  }
  blockArgmin2(a, u);
}

// status[0]: 0 done, 1 a free row reached no free column (infeasible); status[1]: Dijkstra steps.
__global__ void __launch_bounds__(kAugThreads) augmentKernel(const float* __restrict__ C, int64_t n, double* v,
                                                             int32_t* x, int32_t* y, double* d, int32_t* pred,
                                                             int32_t* scannedCol, double* scannedDist,
                                                             const int32_t* __restrict__ freeRows, int32_t nfree,
                                                             unsigned long long* status) {
  __shared__ int32_t sNext;
  __shared__ double sH;
  __shared__ int32_t sSink, sScanned;
  __shared__ double sDmin;
  unsigned long long steps = 0;
  for (int32_t k = 0; k < nfree; ++k) {
    const int32_t f = freeRows[k];
    for (int64_t j = threadIdx.x; j < n; j += kAugThreads) d[j] = INFINITY;
    if (threadIdx.x == 0) sScanned = 0;
    __syncthreads();
    MinAtD a, u;
    relaxRow(C, n, v, y, d, pred, f, 0.0, a, u);
    for (;;) {
      // a and u are the same in every thread (blockArgmin2 broadcasts them).
      if (u.index >= 0 && u.value <= a.value) {  // a free column: the path ends here
        if (threadIdx.x == 0) {
          sSink = u.index;
          sDmin = u.value;
        }
        break;
      }
      if (a.index < 0) {  // nothing reachable: infeasible
        if (threadIdx.x == 0) status[0] = 1;
        return;
      }
      if (threadIdx.x == 0) {
        const int32_t j = a.index;
        scannedCol[sScanned] = j;
        scannedDist[sScanned] = a.value;
        ++sScanned;
        d[j] = NAN;
        const int32_t i = y[j];
        sNext = i;
        sH = (static_cast<double>(C[static_cast<int64_t>(i) * n + j]) - v[j]) - a.value;
      }
      __syncthreads();
      ++steps;
      relaxRow(C, n, v, y, d, pred, sNext, sH, a, u);
    }
    __syncthreads();
    const double dmin = sDmin;
    for (int32_t s = threadIdx.x; s < sScanned; s += kAugThreads) v[scannedCol[s]] += scannedDist[s] - dmin;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int32_t j = sSink;;) {
        const int32_t i = pred[j];
        y[j] = i;
        const int32_t next = x[i];
        x[i] = j;
        if (i == f) break;
        j = next;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) status[1] = steps;
}

// ---------------------------------------------------------------- phase 1: column reduction

constexpr int kSegRows = 256;  // rows per partial column minimum

// Partial minima of each column over a segment of rows (lowest row on ties); flags NaN / -inf.
__global__ void columnMinPartial(const float* __restrict__ C, int64_t n, float* __restrict__ pmin,
                                 int32_t* __restrict__ parg, int* __restrict__ invalid) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t seg = blockIdx.y;
  if (j >= n) return;
  const int64_t r0 = seg * kSegRows, r1 = min(n, r0 + kSegRows);
  float best = INFINITY;
  int32_t arg = -1;
  bool bad = false;
  for (int64_t i = r0; i < r1; ++i) {
    const float x = C[i * n + j];
    bad |= !(x > -INFINITY);
    if (x < best) {
      best = x;
      arg = static_cast<int32_t>(i);
    }
  }
  if (bad) atomicOr(invalid, 1);
  pmin[seg * n + j] = best;
  parg[seg * n + j] = arg;
}

// Orders floats as unsigned integers (smaller float, smaller key).
__device__ inline uint32_t orderedBits(float f) {
  uint32_t u = __float_as_uint(f);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Final column minima; each column offers itself to its minimising row, which keeps the column
// with the smallest v (the highest index on ties): key = (ordered v, ~j), atomicMin.
__global__ void columnMinFinal(const float* __restrict__ pmin, const int32_t* __restrict__ parg, int64_t n,
                               int64_t segs, double* __restrict__ v, int32_t* __restrict__ matches,
                               unsigned long long* __restrict__ keep, int* __restrict__ noRow) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= n) return;
  float best = INFINITY;
  int32_t arg = -1;
  for (int64_t s = 0; s < segs; ++s) {  // segments in row order: strict < keeps the lowest row
    const float x = pmin[s * n + j];
    if (x < best) {
      best = x;
      arg = parg[s * n + j];
    }
  }
  if (arg < 0) {
    atomicOr(noRow, 1);
    return;
  }
  v[j] = static_cast<double>(best);
  atomicAdd(&matches[arg], 1);
  const unsigned long long key = (static_cast<unsigned long long>(orderedBits(best)) << 32) |
                                 static_cast<unsigned long long>(0xffffffffu - static_cast<uint32_t>(j));
  atomicMin(&keep[arg], key);
}

__global__ void assignKept(const unsigned long long* __restrict__ keep, const int32_t* __restrict__ matches,
                           int64_t n, int32_t* __restrict__ x, int32_t* __restrict__ y) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  if (matches[i] > 0) {
    const int32_t j = static_cast<int32_t>(0xffffffffu - static_cast<uint32_t>(keep[i] & 0xffffffffull));
    x[i] = j;
    y[j] = static_cast<int32_t>(i);
  } else {
    x[i] = -1;
  }
}

// ---------------------------------------------------------------- row scans (phases 2 and 3)

struct TwoMinD {
  double m1, m2;
  int32_t i1;
};

__device__ inline void twoMinMerge(TwoMinD& a, const TwoMinD& b) {
  if (b.m1 < a.m1 || (b.m1 == a.m1 && b.i1 >= 0 && (a.i1 < 0 || b.i1 < a.i1))) {
    a.m2 = fmin(a.m1, b.m2);
    a.m1 = b.m1;
    a.i1 = b.i1;
  } else {
    a.m2 = fmin(a.m2, b.m1);
  }
}

// The two smallest reduced costs c_ij - v_j of row i (first: lowest index on ties), one block.
template <int THREADS>
__device__ TwoMinD rowTwoMin(const float* __restrict__ row, const double* __restrict__ v, int64_t n) {
  TwoMinD t{INFINITY, INFINITY, -1};
  for (int64_t j = threadIdx.x; j < n; j += THREADS) {
    const double x = static_cast<double>(row[j]) - v[j];
    if (x < t.m1) {
      t.m2 = t.m1;
      t.m1 = x;
      t.i1 = static_cast<int32_t>(j);
    } else if (x < t.m2) {
      t.m2 = x;
    }
  }
  // Warp, then block reduction.
  for (int o = 16; o > 0; o >>= 1) {
    TwoMinD b{__shfl_down_sync(0xffffffffu, t.m1, o), __shfl_down_sync(0xffffffffu, t.m2, o),
              __shfl_down_sync(0xffffffffu, t.i1, o)};
    twoMinMerge(t, b);
  }
  __shared__ TwoMinD part[THREADS / 32];
  __shared__ TwoMinD result;
  if ((threadIdx.x & 31) == 0) part[threadIdx.x / 32] = t;
  __syncthreads();
  if (threadIdx.x == 0) {
    TwoMinD r = part[0];
    for (int w = 1; w < THREADS / 32; ++w) twoMinMerge(r, part[w]);
    result = r;
  }
  __syncthreads();
  TwoMinD r = result;
  __syncthreads();  // `result` is reused by the next call
  return r;
}

// The first column other than j1 whose reduced cost equals `value` (JV's tie case; the host's
// kernels::secondIndex), one block.
template <int THREADS>
__device__ int32_t rowSecondIndex(const float* __restrict__ row, const double* __restrict__ v, int64_t n,
                                  int32_t j1, double value) {
  int32_t best = INT_MAX;
  for (int64_t j = threadIdx.x; j < n && best == INT_MAX; j += THREADS)
    if (j != j1 && static_cast<double>(row[j]) - v[j] == value) best = static_cast<int32_t>(j);
  for (int o = 16; o > 0; o >>= 1) best = min(best, __shfl_down_sync(0xffffffffu, best, o));
  __shared__ int32_t part[THREADS / 32];
  __shared__ int32_t result;
  if ((threadIdx.x & 31) == 0) part[threadIdx.x / 32] = best;
  __syncthreads();
  if (threadIdx.x == 0) {
    int32_t r = INT_MAX;
    for (int w = 0; w < THREADS / 32; ++w) r = min(r, part[w]);
    result = r == INT_MAX ? -1 : r;
  }
  __syncthreads();
  int32_t r = result;
  __syncthreads();
  return r;
}

constexpr int kRowThreads = 256;

// Phase 2, Jacobi: every row holding exactly one column computes its transfer against the same v.
__global__ void __launch_bounds__(kRowThreads) transferKernel(const float* __restrict__ C, int64_t n,
                                                              const double* __restrict__ v,
                                                              const int32_t* __restrict__ matches,
                                                              const int32_t* __restrict__ x,
                                                              double* __restrict__ drop) {
  const int64_t i = blockIdx.x;
  if (matches[i] != 1) return;  // uniform per block: the whole block leaves together
  const float* row = C + i * n;
  const TwoMinD t = rowTwoMin<kRowThreads>(row, v, n);
  if (threadIdx.x == 0) {
    const int32_t j1 = x[i];
    const double mu = t.i1 == j1 ? t.m2 : t.m1;
    drop[i] = isfinite(mu) ? mu - (static_cast<double>(row[j1]) - v[j1]) : 0.0;
  }
}

__global__ void applyTransfer(const int32_t* __restrict__ matches, const int32_t* __restrict__ x,
                              const double* __restrict__ drop, int64_t n, double* __restrict__ v) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n && matches[i] == 1) v[x[i]] -= drop[i];
}

// Phase 3, one Jacobi round: every free row bids against the same v; the lowest row wins a column.
__global__ void __launch_bounds__(kRowThreads) bidKernel(const float* __restrict__ C, int64_t n,
                                                         const double* __restrict__ v,
                                                         const int32_t* __restrict__ y,
                                                         const int32_t* __restrict__ freeRows,
                                                         int32_t* __restrict__ target, double* __restrict__ dec,
                                                         int32_t* __restrict__ winner, int* __restrict__ noCol) {
  const int32_t i = freeRows[blockIdx.x];
  const float* row = C + static_cast<int64_t>(i) * n;
  const TwoMinD t = rowTwoMin<kRowThreads>(row, v, n);
  if (t.i1 < 0) {  // uniform: the whole block sees the same t
    if (threadIdx.x == 0) atomicOr(noCol, 1);
    return;
  }
  int32_t j = t.i1;
  double d = 0;
  if (t.m1 < t.m2) {
    if (isfinite(t.m2)) d = t.m2 - t.m1;
  } else if (y[j] >= 0) {
    const int32_t j2 = rowSecondIndex<kRowThreads>(row, v, n, t.i1, t.m2);
    if (j2 >= 0) j = j2;  // always found when m1 == m2 is finite; the guard keeps j a column
  }
  if (threadIdx.x == 0) {
    target[i] = j;
    dec[i] = d;
    atomicMin(&winner[j], i);
  }
}

__global__ void applyBids(const int32_t* __restrict__ freeRows, int32_t nfree, const int32_t* __restrict__ target,
                          const double* __restrict__ dec, const int32_t* __restrict__ winner,
                          int32_t* __restrict__ x, int32_t* __restrict__ y, double* __restrict__ v) {
  const int32_t k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= nfree) return;
  const int32_t i = freeRows[k], j = target[i];
  if (j < 0 || winner[j] != i) return;
  const int32_t i0 = y[j];  // held at the round's start, so not bidding: no other thread writes x[i0]
  if (i0 >= 0) x[i0] = -1;
  x[i] = j;
  y[j] = i;
  v[j] -= dec[i];
}

__global__ void resetWinners(const int32_t* __restrict__ freeRows, int32_t nfree, const int32_t* __restrict__ target,
                             int32_t* __restrict__ winner) {
  const int32_t k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k >= nfree) return;
  const int32_t j = target[freeRows[k]];
  if (j >= 0) winner[j] = INT_MAX;
}

__global__ void collectFree(const int32_t* __restrict__ x, int64_t n, int32_t* __restrict__ freeRows,
                            int32_t* __restrict__ count) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n && x[i] < 0) freeRows[atomicAdd(count, 1)] = static_cast<int32_t>(i);
}

__global__ void fillInt(int32_t* p, int64_t n, int32_t value) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) p[i] = value;
}

__global__ void fillU64(unsigned long long* p, int64_t n, unsigned long long value) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) p[i] = value;
}

// Makes `device` current for this thread and names it, e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
std::string useDevice(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

unsigned blocksFor(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// JV phases 1-3 on the device matrix C (n x n), into ws (see parallelInitReference in lap.hpp).
void initOnDevice(const float* C, int64_t n, int rounds, const std::atomic<bool>* cancel, WarmStart& ws) {
  const int64_t segs = (n + kSegRows - 1) / kSegRows;
  DeviceArray<float> pmin(static_cast<size_t>(segs * n), "cudaMalloc(column minima)");
  DeviceArray<int32_t> parg(static_cast<size_t>(segs * n), "cudaMalloc(column minima)");
  DeviceArray<double> v(n, "cudaMalloc(v)"), drop(n, "cudaMalloc(drop)"), dec(n, "cudaMalloc(dec)");
  DeviceArray<int32_t> x(n, "cudaMalloc(x)"), y(n, "cudaMalloc(y)"), matches(n, "cudaMalloc(matches)");
  DeviceArray<int32_t> target(n, "cudaMalloc(target)"), winner(n, "cudaMalloc(winner)"), freeRows(n, "cudaMalloc(free rows)");
  DeviceArray<unsigned long long> keep(n, "cudaMalloc(keep)");
  DeviceArray<int> flags(2, "cudaMalloc(flags)");
  DeviceArray<int32_t> count(1, "cudaMalloc(count)");
  check(cudaMemset(flags.p, 0, 2 * sizeof(int)), "memset");
  check(cudaMemset(matches.p, 0, n * sizeof(int32_t)), "memset");
  fillInt<<<blocksFor(n, 256), 256>>>(y.p, n, -1);
  fillInt<<<blocksFor(n, 256), 256>>>(winner.p, n, INT_MAX);
  fillInt<<<blocksFor(n, 256), 256>>>(target.p, n, -1);
  fillU64<<<blocksFor(n, 256), 256>>>(keep.p, n, ~0ull);
  checkLaunch("fill");
  // Phase 1.
  columnMinPartial<<<dim3(blocksFor(n, 256), static_cast<unsigned>(segs)), 256>>>(C, n, pmin.p, parg.p, flags.p);
  checkLaunch("columnMinPartial");
  columnMinFinal<<<blocksFor(n, 256), 256>>>(pmin.p, parg.p, n, segs, v.p, matches.p, keep.p, flags.p + 1);
  checkLaunch("columnMinFinal");
  int h[2];
  check(cudaMemcpy(h, flags.p, sizeof(h), cudaMemcpyDeviceToHost), "flags");
  if (h[0]) throw InputError("cost matrix contains invalid numeric entries (NaN or -Infinity)");
  if (h[1]) {  // a column with no allowed row
    ws.infeasible = true;
    return;
  }
  {
    assignKept<<<blocksFor(n, 256), 256>>>(keep.p, matches.p, n, x.p, y.p);
    checkLaunch("assignKept");
    // Phase 2.
    check(cudaMemset(drop.p, 0, n * sizeof(double)), "memset");
    transferKernel<<<static_cast<unsigned>(n), kRowThreads>>>(C, n, v.p, matches.p, x.p, drop.p);
    checkLaunch("transferKernel");
    applyTransfer<<<blocksFor(n, 256), 256>>>(matches.p, x.p, drop.p, n, v.p);
    checkLaunch("applyTransfer");
    auto collect = [&]() {
      check(cudaMemset(count.p, 0, sizeof(int32_t)), "memset");
      collectFree<<<blocksFor(n, 256), 256>>>(x.p, n, freeRows.p, count.p);
      checkLaunch("collectFree");
      int32_t c = 0;
      check(cudaMemcpy(&c, count.p, sizeof(c), cudaMemcpyDeviceToHost), "free count");
      return c;
    };
    int32_t nfree = collect();
    ws.stats.free_after_column_reduction = nfree;
    // Phase 3: Jacobi rounds; the host reads one integer per round (the free count).
    int round = 0, best = nfree, lastGain = 0;
    for (; round < rounds && nfree > 0; ++round) {
      if (round - lastGain >= kArrStallRounds) break;  // the host reference's stall rule (lap.hpp)
      checkCancel(cancel);
      bidKernel<<<static_cast<unsigned>(nfree), kRowThreads>>>(C, n, v.p, y.p, freeRows.p, target.p, dec.p,
                                                               winner.p, flags.p + 1);
      checkLaunch("bidKernel");
      applyBids<<<blocksFor(nfree, 256), 256>>>(freeRows.p, nfree, target.p, dec.p, winner.p, x.p, y.p, v.p);
      checkLaunch("applyBids");
      resetWinners<<<blocksFor(nfree, 256), 256>>>(freeRows.p, nfree, target.p, winner.p);
      checkLaunch("resetWinners");
      nfree = collect();
      if (nfree < best) {
        best = nfree;
        lastGain = round + 1;
      }
    }
    check(cudaMemcpy(h, flags.p, sizeof(h), cudaMemcpyDeviceToHost), "flags");
    ws.infeasible = h[1] != 0;  // a row with no allowed column
    ws.stats.parallel_rounds = round;
    ws.stats.free_after_arr = nfree;
    auto download = [&](WarmStart& w) {
      w.x.resize(n);
      w.y.resize(n);
      w.v.resize(n);
      check(cudaMemcpy(w.x.data(), x.p, n * sizeof(int32_t), cudaMemcpyDeviceToHost), "download x");
      check(cudaMemcpy(w.y.data(), y.p, n * sizeof(int32_t), cudaMemcpyDeviceToHost), "download y");
      check(cudaMemcpy(w.v.data(), v.p, n * sizeof(double), cudaMemcpyDeviceToHost), "download v");
    };
    download(ws);
    // Phase 4 on the device (SAE_MATCH_CUDA_PHASE4=0: leave it to the host). The state before it is
    // kept: if the device's result is not one assignment, that state goes to the host instead.
    const char* p4 = std::getenv("SAE_MATCH_CUDA_PHASE4");
    if (!ws.infeasible && nfree > 0 && !(p4 && std::string(p4) == "0")) {
      checkCancel(cancel);
      DeviceArray<double> d(n, "cudaMalloc(d)"), sdist(n, "cudaMalloc(scanned)");
      DeviceArray<int32_t> pred(n, "cudaMalloc(pred)"), scol(n, "cudaMalloc(scanned)");
      DeviceArray<unsigned long long> status(2, "cudaMalloc(status)");
      check(cudaMemset(status.p, 0, 2 * sizeof(unsigned long long)), "memset");
      const auto t4 = Clock::now();
      augmentKernel<<<1, kAugThreads>>>(C, n, v.p, x.p, y.p, d.p, pred.p, scol.p, sdist.p, freeRows.p, nfree, status.p);
      checkLaunch("augmentKernel");
      unsigned long long st[2];
      check(cudaMemcpy(st, status.p, sizeof(st), cudaMemcpyDeviceToHost), "phase 4 status");
      const double seconds = since(t4);
      if (st[0] == 1) {
        ws.infeasible = true;
        return;
      }
      WarmStart done;
      download(done);
      bool consistent = true;
      for (int64_t i = 0; i < n && consistent; ++i)
        consistent = done.x[i] >= 0 && done.x[i] < n && done.y[done.x[i]] == i && std::isfinite(done.v[done.x[i]]);
      if (consistent) {
        ws.x = std::move(done.x);
        ws.y = std::move(done.y);
        ws.v = std::move(done.v);
        ws.stats.augmentations = nfree;
        ws.stats.dijkstra_steps = static_cast<int64_t>(st[1]);
        ws.stats.seconds_augment = seconds;  // free_after_arr stays: the rows phase 4 started from
      }
    }
  }
}

}  // namespace

GpuPairResult matchPairDevice(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                              int metric, int rounds, int device, float* out,
                              const std::atomic<bool>* cancel) {
  if (n_a <= 0 || n_b <= 0 || k <= 0) throw InputError("cuda: empty feature matrices");
  if (std::max(n_a, n_b) > INT_MAX / 2) throw InputError("cuda: more than 2^30 features");
  if (static_cast<int64_t>(std::max(n_a, n_b) + BM - 1) / BM > 65535) throw InputError("cuda: too many features for one launch grid");
  GpuPairResult res;
  const auto t0 = Clock::now();
  res.device = useDevice(device);

  auto t = Clock::now();
  DeviceArray<float> dA(static_cast<size_t>(n_a * k), "cudaMalloc(features a)");
  DeviceArray<float> dB(static_cast<size_t>(n_b * k), "cudaMalloc(features b)");
  DeviceArray<float> dC(static_cast<size_t>(n_a * n_b), "cudaMalloc(cost matrix)");
  DeviceArray<double> nA(static_cast<size_t>(n_a), "cudaMalloc(norms)"), nB(static_cast<size_t>(n_b), "cudaMalloc(norms)");
  check(cudaMemcpy(dA.p, a, sizeof(float) * n_a * k, cudaMemcpyHostToDevice), "upload a");
  check(cudaMemcpy(dB.p, b, sizeof(float) * n_b * k, cudaMemcpyHostToDevice), "upload b");
  res.timings.upload = since(t);

  t = Clock::now();
  const int cosine = metric == 1;
  sqNormsKernel<<<blocksFor(n_a * 32, 256), 256>>>(dA.p, n_a, k, nA.p, cosine);
  checkLaunch("sqNormsKernel");
  sqNormsKernel<<<blocksFor(n_b * 32, 256), 256>>>(dB.p, n_b, k, nB.p, cosine);
  checkLaunch("sqNormsKernel");
  check(cudaDeviceSynchronize(), "norms");
  res.timings.norms = since(t);
  checkCancel(cancel);

  t = Clock::now();
  dim3 grid(static_cast<unsigned>((n_b + BN - 1) / BN), static_cast<unsigned>((n_a + BM - 1) / BM));
  const char* kernelEnv = std::getenv("SAE_MATCH_CUDA_KERNEL");
  if (kernelEnv && std::string(kernelEnv) == "simple")
    costKernel<<<grid, 256>>>(dA.p, dB.p, n_a, n_b, k, nA.p, nB.p, cosine, dC.p);
  else if (k % 4 == 0)
    costKernelPipelined<true><<<grid, 256>>>(dA.p, dB.p, n_a, n_b, k, nA.p, nB.p, cosine, dC.p);
  else
    costKernelPipelined<false><<<grid, 256>>>(dA.p, dB.p, n_a, n_b, k, nA.p, nB.p, cosine, dC.p);
  checkLaunch("costKernel");
  check(cudaDeviceSynchronize(), "cost matrix");
  res.timings.gemm = since(t);
  checkCancel(cancel);

  if (rounds >= 0 && n_a == n_b) {
    t = Clock::now();
    initOnDevice(dC.p, n_a, rounds, cancel, res.warm);
    res.have_warm_start = true;
    res.timings.init = since(t);
    res.warm.stats.seconds_init = res.timings.init;
  }

  t = Clock::now();
  check(cudaMemcpy(out, dC.p, sizeof(float) * n_a * n_b, cudaMemcpyDeviceToHost), "download cost matrix");
  res.timings.download = since(t);
  res.timings.total = since(t0);
  return res;
}

GpuPairResult initMatrixDevice(const float* cost, int64_t n, int rounds, int device,
                               const std::atomic<bool>* cancel) {
  if (n <= 0 || n > INT_MAX / 2) throw InputError("cuda: n must be in [1, 2^30]");
  GpuPairResult res;
  const auto t0 = Clock::now();
  res.device = useDevice(device);
  auto t = Clock::now();
  DeviceArray<float> dC(static_cast<size_t>(n * n), "cudaMalloc(cost matrix)");
  check(cudaMemcpy(dC.p, cost, sizeof(float) * n * n, cudaMemcpyHostToDevice), "upload cost matrix");
  res.timings.upload = since(t);
  t = Clock::now();
  initOnDevice(dC.p, n, std::max(rounds, 0), cancel, res.warm);
  res.have_warm_start = true;
  res.timings.init = since(t);
  res.warm.stats.seconds_init = res.timings.init;
  res.timings.total = since(t0);
  return res;
}

}  // namespace saematch::cuda
