// Built-in single-precision GEMM, C = alpha * A * B^T, for builds without a BLAS. The structure is
// the Goto/BLIS one: K is cut into KC-deep slabs, B's slab is packed into NR-wide micro-panels that
// stay in L1, A's rows into MR-tall micro-panels that stay in L2, and a register-blocked micro-kernel
// (6 x 16 floats: 12 AVX2 accumulators) does the arithmetic. Threads own disjoint row ranges of C.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cost.hpp"
#include "../parallel.hpp"
#include "../simd.hpp"  // SAE_MATCH_X86, SAE_AVX2, cpuHasAvx2

namespace saematch {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;
constexpr int64_t KC = 384;
constexpr int64_t MC = 96;    // MR * 16: A block (MC x KC floats = 144 KiB) lives in L2
constexpr int64_t NC = 3072;  // B slab (NC x KC floats = 4.5 MiB) lives in L3

// acc (MR x NR) = Apanel (KC x MR) . Bpanel (KC x NR)
void microKernelScalar(int64_t kc, const float* ap, const float* bp, float* acc) {
  float t[MR][NR] = {};
  for (int64_t p = 0; p < kc; ++p)
    for (int r = 0; r < MR; ++r)
      for (int c = 0; c < NR; ++c) t[r][c] += ap[p * MR + r] * bp[p * NR + c];
  std::memcpy(acc, t, sizeof t);
}

#ifdef SAE_MATCH_X86
SAE_AVX2 void microKernelAvx2(int64_t kc, const float* ap, const float* bp, float* acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (int64_t p = 0; p < kc; ++p, ap += MR, bp += NR) {
    __m256 b0 = _mm256_load_ps(bp), b1 = _mm256_load_ps(bp + 8);
    __m256 a = _mm256_broadcast_ss(ap + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00), c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10), c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20), c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30), c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40), c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50), c51 = _mm256_fmadd_ps(a, b1, c51);
  }
  __m256 rows[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
  for (int q = 0; q < 12; ++q) _mm256_storeu_ps(acc + q * 8, rows[q]);
}
#endif

// Packs rows [r0, r0+rows) x cols [p0, p0+kc) of a row-major matrix into panels of `width` rows,
// interleaved by k, zero-padded to a whole panel.
void pack(const float* src, int64_t ld, int64_t r0, int64_t rows, int64_t p0, int64_t kc, int width,
          float* dst) {
  for (int64_t base = 0; base < rows; base += width) {
    int64_t w = std::min<int64_t>(width, rows - base);
    for (int64_t p = 0; p < kc; ++p) {
      float* out = dst + (base * kc) + p * width;
      for (int64_t r = 0; r < w; ++r) out[r] = src[(r0 + base + r) * ld + p0 + p];
      for (int64_t r = w; r < width; ++r) out[r] = 0.0f;
    }
  }
}

struct AlignedFloats {
  explicit AlignedFloats(size_t n) : v(n + 16) {}
  float* data() {
    auto p = reinterpret_cast<uintptr_t>(v.data());
    return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
  }
  std::vector<float> v;
};

void gemmRows(int64_t m0, int64_t m1, int64_t n, int64_t k, float alpha, const float* a,
              const float* b, float* c, int64_t ldc) {
  auto kernel = microKernelScalar;
#ifdef SAE_MATCH_X86
  if (cpuHasAvx2()) kernel = microKernelAvx2;
#endif
  AlignedFloats bbuf(static_cast<size_t>(((NC + NR - 1) / NR) * NR * KC));
  AlignedFloats abuf(static_cast<size_t>(((MC + MR - 1) / MR) * MR * KC));
  float* bp = bbuf.data();
  float* ap = abuf.data();
  alignas(64) float acc[MR * NR];
  for (int64_t jc = 0; jc < n; jc += NC) {
    int64_t nc = std::min(NC, n - jc);
    for (int64_t pc = 0; pc < k; pc += KC) {
      int64_t kc = std::min(KC, k - pc);
      bool first = pc == 0;
      pack(b, k, jc, nc, pc, kc, NR, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        int64_t mc = std::min(MC, m1 - ic);
        pack(a, k, ic, mc, pc, kc, MR, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int64_t nr = std::min<int64_t>(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t mr = std::min<int64_t>(MR, mc - ir);
            kernel(kc, ap + ir * kc, bp + jr * kc, acc);
            for (int64_t r = 0; r < mr; ++r) {
              float* crow = c + (ic + ir + r) * ldc + jc + jr;
              const float* arow = acc + r * NR;
              if (first)
                for (int64_t q = 0; q < nr; ++q) crow[q] = alpha * arow[q];
              else
                for (int64_t q = 0; q < nr; ++q) crow[q] += alpha * arow[q];
            }
          }
        }
      }
    }
  }
}

}  // namespace

void gemmNTBuiltin(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
                   float* c, int64_t ldc, int threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  parallelFor(m, threads, MC, [&](int64_t b0, int64_t b1, int) {
    gemmRows(b0, b1, n, k, alpha, a, b, c, ldc);
  });
}

}  // namespace saematch
