// The cost matrix on the device (native/core/cost/cost.cpp defines it: norms in float64, products in
// float32, the epilogue in float64): a squared-norm kernel and two tiled GEMM kernels with the same
// epilogue, the pipelined one and the simple one it is checked against.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels.hpp"

namespace saematch::cuda {
namespace {

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
constexpr int BM = kCostTile, BN = kCostTile, BK = 8, TM = 8, TN = 8;

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
// costKernel above is the reference when this one is in doubt (launchCostMatrix's `simple`).
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

}  // namespace

void launchSqNorms(const float* x, int64_t n, int64_t k, double* out, int cosine) {
  sqNormsKernel<<<blocksFor(n * 32, 256), 256>>>(x, n, k, out, cosine);
}

void launchCostMatrix(bool simple, const float* A, const float* B, int64_t na, int64_t nb, int64_t k,
                      const double* normA, const double* normB, int cosine, float* C) {
  dim3 grid(static_cast<unsigned>((nb + BN - 1) / BN), static_cast<unsigned>((na + BM - 1) / BM));
  if (simple)
    costKernel<<<grid, 256>>>(A, B, na, nb, k, normA, normB, cosine, C);
  else if (k % 4 == 0)
    costKernelPipelined<true><<<grid, 256>>>(A, B, na, nb, k, normA, normB, cosine, C);
  else
    costKernelPipelined<false><<<grid, 256>>>(A, B, na, nb, k, normA, normB, cosine, C);
}

}  // namespace saematch::cuda
