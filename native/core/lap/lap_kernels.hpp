// Row kernels of the JV solver. Every phase of JV spends its time in one of three passes over a cost
// row: the two smallest reduced costs (reduction transfer, augmenting row reduction), the Dijkstra
// relaxation with the running minimum (shortest augmenting path), and the column minimum (column
// reduction). They are written twice: an AVX2 version selected at run time (../simd.hpp, so one
// prebuilt binary serves every x86-64 CPU) and a portable scalar version that is also the reference
// in the tests.
//
// Costs are read as T (float or double) and widened to double; NEG negates them (maximisation)
// without copying the matrix. Scanned Dijkstra columns hold NaN in d: NaN compares false with
// everything, so a scanned column is neither relaxed nor chosen as a minimum, with no extra state.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "../simd.hpp"  // SAE_MATCH_X86, SAE_AVX2, cpuHasAvx2

namespace saematch::kernels {

constexpr double kInf = std::numeric_limits<double>::infinity();

struct MinAt {
  double value = kInf;
  int64_t index = -1;
};
struct TwoMin {
  MinAt first, second;
};

template <bool NEG, typename T>
inline double cost(T c) {
  return NEG ? -static_cast<double>(c) : static_cast<double>(c);
}

inline void offer(TwoMin& t, double x, int64_t j) {
  if (x < t.second.value) {
    if (x < t.first.value) {
      t.second = t.first;
      t.first = {x, j};
    } else {
      t.second = {x, j};
    }
  }
}

inline void offer(MinAt& m, double x, int64_t j) {
  if (x < m.value || (x == m.value && j < m.index && m.index >= 0)) m = {x, j};
}

// ---------------------------------------------------------------- scalar (portable, reference)

// Scalar kernels work on columns [j0, n) so the vector versions can hand them their tails.
template <bool NEG, typename T>
void twoMinScalar(const T* row, const double* v, int64_t j0, int64_t n, TwoMin& t) {
  for (int64_t j = j0; j < n; ++j) offer(t, cost<NEG>(row[j]) - v[j], j);
}

template <bool NEG, typename T>
void relaxScalar(const T* row, const double* v, double* d, int32_t* pred, const int32_t* y,
                 int64_t j0, int64_t n, double h, int32_t i, MinAt& assigned, MinAt& unassigned) {
  for (int64_t j = j0; j < n; ++j) {
    double nd = cost<NEG>(row[j]) - v[j] - h;
    if (nd < d[j]) {
      d[j] = nd;
      pred[j] = i;
    }
    double dj = d[j];
    if (y[j] < 0) {
      offer(unassigned, dj, j);
    } else {
      offer(assigned, dj, j);
    }
  }
}

// Returns false when the row holds NaN or the value that can never be part of an optimum (-inf after
// the sign is applied).
template <bool NEG, typename T>
bool columnMinScalar(const T* row, T* vmin, int32_t* arg, int64_t n, int32_t i) {
  bool ok = true;
  for (int64_t j = 0; j < n; ++j) {
    T x = NEG ? -row[j] : row[j];
    ok &= x > -std::numeric_limits<T>::infinity();
    bool lt = x < vmin[j];
    vmin[j] = lt ? x : vmin[j];
    arg[j] = lt ? i : arg[j];
  }
  return ok;
}

#ifdef SAE_MATCH_X86
// ---------------------------------------------------------------- AVX2

template <bool NEG>
SAE_AVX2 inline __m256d load4(const float* p) {
  __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(p));
  return NEG ? _mm256_xor_pd(x, _mm256_set1_pd(-0.0)) : x;
}
template <bool NEG>
SAE_AVX2 inline __m256d load4(const double* p) {
  __m256d x = _mm256_loadu_pd(p);
  return NEG ? _mm256_xor_pd(x, _mm256_set1_pd(-0.0)) : x;
}

// Lane-wise (value, index) minima reduced to one; ties go to the smaller index so results do not
// depend on the vector width.
SAE_AVX2 inline void reduceLanes(__m256d val, __m256d idx, MinAt& m) {
  alignas(32) double vv[4], ii[4];
  _mm256_store_pd(vv, val);
  _mm256_store_pd(ii, idx);
  for (int l = 0; l < 4; ++l)
    if (ii[l] >= 0) offer(m, vv[l], static_cast<int64_t>(ii[l]));
}

// The smallest value with its (first) index, and the second smallest value. The index of the second
// is left at -1: only JV's rare tie case needs it, and the caller finds it with secondIndex(). Not
// tracking it saves half the blends, which bound this scan. Two independent accumulator sets (even
// and odd blocks of 4 columns) halve the loop-carried compare/min chain.
struct TwoMinLanes {
  __m256d m1, i1, m2;
};

SAE_AVX2 inline void twoMinStep(TwoMinLanes& a, __m256d x, __m256d jv) {
  __m256d lt1 = _mm256_cmp_pd(x, a.m1, _CMP_LT_OQ);
  a.m2 = _mm256_min_pd(a.m2, _mm256_max_pd(a.m1, x));
  a.m1 = _mm256_min_pd(a.m1, x);
  a.i1 = _mm256_blendv_pd(a.i1, jv, lt1);
}

template <bool NEG, typename T>
SAE_AVX2 TwoMin twoMinAvx2(const T* row, const double* v, int64_t n) {
  const __m256d inf = _mm256_set1_pd(kInf), none = _mm256_set1_pd(-1);
  TwoMinLanes e{inf, none, inf}, o{inf, none, inf};
  __m256d jv = _mm256_setr_pd(0, 1, 2, 3);
  const __m256d four = _mm256_set1_pd(4), eight = _mm256_set1_pd(8);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256d x0 = _mm256_sub_pd(load4<NEG>(row + j), _mm256_loadu_pd(v + j));
    __m256d x1 = _mm256_sub_pd(load4<NEG>(row + j + 4), _mm256_loadu_pd(v + j + 4));
    twoMinStep(e, x0, jv);
    twoMinStep(o, x1, _mm256_add_pd(jv, four));
    jv = _mm256_add_pd(jv, eight);
  }
  alignas(32) double m1[8], i1[8], m2[8];
  _mm256_store_pd(m1, e.m1), _mm256_store_pd(m1 + 4, o.m1);
  _mm256_store_pd(i1, e.i1), _mm256_store_pd(i1 + 4, o.i1);
  _mm256_store_pd(m2, e.m2), _mm256_store_pd(m2 + 4, o.m2);
  TwoMin t;
  int best = -1;  // lane holding the overall minimum, first index on ties
  for (int l = 0; l < 8; ++l)
    if (i1[l] >= 0 && (best < 0 || m1[l] < m1[best] || (m1[l] == m1[best] && i1[l] < i1[best])))
      best = l;
  if (best >= 0) t.first = {m1[best], static_cast<int64_t>(i1[best])};
  double second = kInf;
  for (int l = 0; l < 8; ++l) {
    second = std::min(second, m2[l]);
    if (l != best) second = std::min(second, m1[l]);
  }
  t.second = {second, -1};
  // Tail: the scalar rule, except that it may record an index for the second; drop it for
  // consistency with the vector part (the caller asks secondIndex() when it needs one).
  twoMinScalar<NEG>(row, v, j, n, t);
  t.second.index = -1;
  return t;
}

// Index of the first column other than `j1` whose reduced cost equals `value` (the second minimum).
template <bool NEG, typename T>
int64_t secondIndex(const T* row, const double* v, int64_t n, int64_t j1, double value) {
  for (int64_t j = 0; j < n; ++j)
    if (j != j1 && cost<NEG>(row[j]) - v[j] == value) return j;
  return -1;
}

struct MinLanes {
  __m256d val, idx;
};

SAE_AVX2 inline void minStep(MinLanes& m, __m256d key, __m256d jv) {
  __m256d lt = _mm256_cmp_pd(key, m.val, _CMP_LT_OQ);
  m.val = _mm256_blendv_pd(m.val, key, lt);
  m.idx = _mm256_blendv_pd(m.idx, jv, lt);
}

// One block of 4 columns of the Dijkstra relaxation; pred is updated without a branch (a blend of
// the four 32-bit entries) because on random-like rows the update pattern is unpredictable.
template <bool NEG, typename T>
SAE_AVX2 inline void relaxBlock(const T* row, const double* v, double* d, int32_t* pred,
                                const int32_t* y, int64_t j, __m256d hv, __m128i iv, __m256d jv,
                                MinLanes& a, MinLanes& u) {
  const __m256d inf = _mm256_set1_pd(kInf);
  __m256d nd = _mm256_sub_pd(_mm256_sub_pd(load4<NEG>(row + j), _mm256_loadu_pd(v + j)), hv);
  __m256d dd = _mm256_loadu_pd(d + j);
  __m256d lt = _mm256_cmp_pd(nd, dd, _CMP_LT_OQ);
  dd = _mm256_blendv_pd(dd, nd, lt);
  _mm256_storeu_pd(d + j, dd);
  // 4 x 64-bit mask -> 4 x 32-bit mask: take the odd 32-bit halves.
  __m128 lt32 = _mm_shuffle_ps(_mm256_castps256_ps128(_mm256_castpd_ps(lt)),
                               _mm256_extractf128_ps(_mm256_castpd_ps(lt), 1), _MM_SHUFFLE(3, 1, 3, 1));
  __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(pred + j));
  p = _mm_castps_si128(_mm_blendv_ps(_mm_castsi128_ps(p), _mm_castsi128_ps(iv), lt32));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(pred + j), p);
  __m256i y64 = _mm256_cvtepi32_epi64(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y + j)));
  __m256d isFree = _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_setzero_si256(), y64));
  minStep(a, _mm256_blendv_pd(dd, inf, isFree), jv);
  minStep(u, _mm256_blendv_pd(inf, dd, isFree), jv);
}

template <bool NEG, typename T>
SAE_AVX2 void relaxAvx2(const T* row, const double* v, double* d, int32_t* pred, const int32_t* y,
                        int64_t n, double h, int32_t i, MinAt& assigned, MinAt& unassigned) {
  const __m256d inf = _mm256_set1_pd(kInf), none = _mm256_set1_pd(-1);
  const __m256d hv = _mm256_set1_pd(h);
  const __m128i iv = _mm_set1_epi32(i);
  MinLanes a0{inf, none}, a1{inf, none}, u0{inf, none}, u1{inf, none};
  __m256d jv = _mm256_setr_pd(0, 1, 2, 3);
  const __m256d four = _mm256_set1_pd(4), eight = _mm256_set1_pd(8);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    relaxBlock<NEG>(row, v, d, pred, y, j, hv, iv, jv, a0, u0);
    relaxBlock<NEG>(row, v, d, pred, y, j + 4, hv, iv, _mm256_add_pd(jv, four), a1, u1);
    jv = _mm256_add_pd(jv, eight);
  }
  reduceLanes(a0.val, a0.idx, assigned);
  reduceLanes(a1.val, a1.idx, assigned);
  reduceLanes(u0.val, u0.idx, unassigned);
  reduceLanes(u1.val, u1.idx, unassigned);
  relaxScalar<NEG>(row, v, d, pred, y, j, n, h, i, assigned, unassigned);
}
#endif

}  // namespace saematch::kernels
