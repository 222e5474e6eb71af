// The stream's first look at a panel entry: which entries of a row could enter that row's lists, and
// which of a row's entries could enter their columns' lists. Nearly every entry cannot (a list of k
// admits about k log(n / k) of a column's n entries), so the exact list code runs only on what these
// filters pass: a vectorised compare of the whole row against the thresholds, in double, exactly the
// comparisons the list code makes, so an entry is passed if and only if the list code would look at it.
// Thresholds only fall while a row or column is scanned, so filtering against the values at the start
// passes a superset, which the list code narrows; the order entries are offered in is unchanged.
#pragma once

#include <cmath>
#include <cstdint>

#include "../simd.hpp"

namespace saematch::sparse {

// Row entries x[0, n) with x_j < w, or (beta non-null) x_j - beta_j < w2: their indices plus base
// into out (ascending); returns how many. *finite receives how many entries are not NaN (a NaN passes
// neither compare).
inline int64_t filterRowScalar(const float* x, int64_t n, double w, const double* beta, double w2, int32_t* out,
                               int64_t* finite, int64_t base = 0) {
  int64_t m = 0, nan = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(x[j]);
    nan += std::isnan(x[j]);
    const bool pass = v < w || (beta && v - beta[j] < w2);
    out[m] = static_cast<int32_t>(base + j);
    m += pass;
  }
  *finite = n - nan;
  return m;
}

// Columns j of one row's entries x[0, n) with x_j <= worst[j], or (worst2 non-null)
// x_j - alpha <= worst2[j]: their indices plus base into out; returns how many.
inline int64_t filterColsScalar(const float* x, int64_t n, const double* worst, double alpha, const double* worst2,
                                int32_t* out, int64_t base = 0) {
  int64_t m = 0;
  for (int64_t j = 0; j < n; ++j) {
    const double v = static_cast<double>(x[j]);
    const bool pass = v <= worst[j] || (worst2 && v - alpha <= worst2[j]);
    out[m] = static_cast<int32_t>(base + j);
    m += pass;
  }
  return m;
}

#ifdef SAE_MATCH_X86
// Appends the set bits of mask as j0 + bit.
inline int64_t emitMask(unsigned mask, int64_t j0, int32_t* out, int64_t m) {
  while (mask) {
    out[m++] = static_cast<int32_t>(j0 + __builtin_ctz(mask));
    mask &= mask - 1;
  }
  return m;
}

SAE_AVX2 inline int64_t filterRowAvx2(const float* x, int64_t n, double w, const double* beta, double w2,
                                      int32_t* out, int64_t* finite) {
  const __m256d vw = _mm256_set1_pd(w), vw2 = _mm256_set1_pd(w2);
  int64_t m = 0, nan = 0, j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 xf = _mm256_loadu_ps(x + j);
    nan += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(xf, xf, _CMP_UNORD_Q))));
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(xf)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(xf, 1));
    __m256d plo = _mm256_cmp_pd(lo, vw, _CMP_LT_OQ), phi = _mm256_cmp_pd(hi, vw, _CMP_LT_OQ);
    if (beta) {
      plo = _mm256_or_pd(plo, _mm256_cmp_pd(_mm256_sub_pd(lo, _mm256_loadu_pd(beta + j)), vw2, _CMP_LT_OQ));
      phi = _mm256_or_pd(phi, _mm256_cmp_pd(_mm256_sub_pd(hi, _mm256_loadu_pd(beta + j + 4)), vw2, _CMP_LT_OQ));
    }
    const unsigned mask = static_cast<unsigned>(_mm256_movemask_pd(plo)) | (static_cast<unsigned>(_mm256_movemask_pd(phi)) << 4);
    if (mask) m = emitMask(mask, j, out, m);
  }
  int64_t restFinite = 0;
  m += filterRowScalar(x + j, n - j, w, beta ? beta + j : nullptr, w2, out + m, &restFinite, j);
  *finite = (j - nan) + restFinite;
  return m;
}

SAE_AVX2 inline int64_t filterColsAvx2(const float* x, int64_t n, const double* worst, double alpha,
                                       const double* worst2, int32_t* out) {
  const __m256d va = _mm256_set1_pd(alpha);
  int64_t m = 0, j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 xf = _mm256_loadu_ps(x + j);
    const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(xf)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(xf, 1));
    __m256d plo = _mm256_cmp_pd(lo, _mm256_loadu_pd(worst + j), _CMP_LE_OQ);
    __m256d phi = _mm256_cmp_pd(hi, _mm256_loadu_pd(worst + j + 4), _CMP_LE_OQ);
    if (worst2) {
      plo = _mm256_or_pd(plo, _mm256_cmp_pd(_mm256_sub_pd(lo, va), _mm256_loadu_pd(worst2 + j), _CMP_LE_OQ));
      phi = _mm256_or_pd(phi, _mm256_cmp_pd(_mm256_sub_pd(hi, va), _mm256_loadu_pd(worst2 + j + 4), _CMP_LE_OQ));
    }
    const unsigned mask = static_cast<unsigned>(_mm256_movemask_pd(plo)) | (static_cast<unsigned>(_mm256_movemask_pd(phi)) << 4);
    if (mask) m = emitMask(mask, j, out, m);
  }
  m += filterColsScalar(x + j, n - j, worst + j, alpha, worst2 ? worst2 + j : nullptr, out + m, j);
  return m;
}
#endif

// The fastest the CPU runs.
inline int64_t filterRow(const float* x, int64_t n, double w, const double* beta, double w2, int32_t* out, int64_t* finite) {
#ifdef SAE_MATCH_X86
  if (cpuHasAvx2()) return filterRowAvx2(x, n, w, beta, w2, out, finite);
#endif
  return filterRowScalar(x, n, w, beta, w2, out, finite);
}

inline int64_t filterCols(const float* x, int64_t n, const double* worst, double alpha, const double* worst2, int32_t* out) {
#ifdef SAE_MATCH_X86
  if (cpuHasAvx2()) return filterColsAvx2(x, n, worst, alpha, worst2, out);
#endif
  return filterColsScalar(x, n, worst, alpha, worst2, out);
}

}  // namespace saematch::sparse
