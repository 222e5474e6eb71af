// JV phases 1-3 on the device, in the data-parallel form whose host reference is
// parallelInitReference (native/core/lap/parallel_init.cpp, rules in lap.hpp): column reduction over
// row segments, the Jacobi reduction transfer, and Jacobi rounds of augmenting row reduction, one
// block per row for the row scans. solver.cu runs them in order.
#include <cuda_runtime.h>

#include <climits>
#include <cmath>

#include "kernels.hpp"

namespace saematch::cuda {
namespace {

// ---------------------------------------------------------------- phase 1: column reduction

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

}  // namespace

void launchFillInt(int32_t* p, int64_t n, int32_t value) { fillInt<<<blocksFor(n, 256), 256>>>(p, n, value); }
void launchFillU64(unsigned long long* p, int64_t n, unsigned long long value) {
  fillU64<<<blocksFor(n, 256), 256>>>(p, n, value);
}

void launchColumnMinPartial(const float* C, int64_t n, int64_t segs, float* pmin, int32_t* parg, int* invalid) {
  columnMinPartial<<<dim3(blocksFor(n, 256), static_cast<unsigned>(segs)), 256>>>(C, n, pmin, parg, invalid);
}
void launchColumnMinFinal(const float* pmin, const int32_t* parg, int64_t n, int64_t segs, double* v,
                          int32_t* matches, unsigned long long* keep, int* noRow) {
  columnMinFinal<<<blocksFor(n, 256), 256>>>(pmin, parg, n, segs, v, matches, keep, noRow);
}
void launchAssignKept(const unsigned long long* keep, const int32_t* matches, int64_t n, int32_t* x, int32_t* y) {
  assignKept<<<blocksFor(n, 256), 256>>>(keep, matches, n, x, y);
}

void launchTransfer(const float* C, int64_t n, const double* v, const int32_t* matches, const int32_t* x,
                    double* drop) {
  transferKernel<<<static_cast<unsigned>(n), kRowThreads>>>(C, n, v, matches, x, drop);
}
void launchApplyTransfer(const int32_t* matches, const int32_t* x, const double* drop, int64_t n, double* v) {
  applyTransfer<<<blocksFor(n, 256), 256>>>(matches, x, drop, n, v);
}

void launchBid(const float* C, int64_t n, const double* v, const int32_t* y, const int32_t* freeRows,
               int32_t nfree, int32_t* target, double* dec, int32_t* winner, int* noCol) {
  bidKernel<<<static_cast<unsigned>(nfree), kRowThreads>>>(C, n, v, y, freeRows, target, dec, winner, noCol);
}
void launchApplyBids(const int32_t* freeRows, int32_t nfree, const int32_t* target, const double* dec,
                     const int32_t* winner, int32_t* x, int32_t* y, double* v) {
  applyBids<<<blocksFor(nfree, 256), 256>>>(freeRows, nfree, target, dec, winner, x, y, v);
}
void launchResetWinners(const int32_t* freeRows, int32_t nfree, const int32_t* target, int32_t* winner) {
  resetWinners<<<blocksFor(nfree, 256), 256>>>(freeRows, nfree, target, winner);
}
void launchCollectFree(const int32_t* x, int64_t n, int32_t* freeRows, int32_t* count) {
  collectFree<<<blocksFor(n, 256), 256>>>(x, n, freeRows, count);
}

}  // namespace saematch::cuda
