// JV phase 4 on the device. Published GPU solvers lose to a CPU JV on the sequential tail of free
// rows because every Dijkstra step is a launch and a synchronisation (REFERENCE.md §3); here the whole
// tail runs in ONE resident block that loops over the free rows and their Dijkstra steps itself.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels.hpp"

namespace saematch::cuda {
namespace {

// JV's shortest augmenting paths (native/core/lap/augment.cpp's augment(), same rules: relax with h,
// prefer a free column on ties, v += d - dmin on the scanned columns, flip the path), for every free
// row in turn, in ONE block that stays resident: a Dijkstra step is a relaxation over all columns by 1024 threads and a
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

}  // namespace

void launchAugment(const float* C, int64_t n, double* v, int32_t* x, int32_t* y, double* d, int32_t* pred,
                   int32_t* scannedCol, double* scannedDist, const int32_t* freeRows, int32_t nfree,
                   unsigned long long* status) {
  augmentKernel<<<1, kAugThreads>>>(C, n, v, x, y, d, pred, scannedCol, scannedDist, freeRows, nfree, status);
}

}  // namespace saematch::cuda
