// Reconstruction-based evaluation of SAE Match (see eval.hpp). Encoding is a GEMM per block of rows
// (the dense pre-activations of all rows would be n x d_sae floats); decoding walks the sparse codes.
#include "eval.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "../cost/cost.hpp"  // gemmNT, gemmNNBlas, haveBlas
#include "../errors.hpp"
#include "../large_vector.hpp"  // LargeBuffer
#include "../parallel.hpp"
#include "../simd.hpp"  // cpuHasAvx2, SAE_MATCH_X86 (and immintrin.h there)

namespace saematch {

namespace {

void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

// Rows encoded per GEMM: bounds the dense block at 256 x d_sae floats (4 MiB at 4096 features).
constexpr int64_t kEncodeBlock = 256;

}  // namespace

SparseCodes jumpReluEncode(const float* X, int64_t n, int64_t d_model, const float* W_enc,
                           const float* b_enc, const float* theta, int64_t d_sae, int threads,
                           EvalKernels kernels, const std::atomic<bool>* cancel) {
  if (threads <= 0) threads = hardwareThreads();
  // With BLAS, z = X W_enc directly; the built-in GEMM wants W_enc transposed (once per layer).
  const bool blas = haveBlas() && kernels != EvalKernels::Generic;
  std::vector<float> Wt;
  if (!blas) {
    Wt.resize(static_cast<size_t>(d_sae * d_model));
    parallelFor(d_sae, threads, 64, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i)
        for (int64_t c = 0; c < d_model; ++c) Wt[i * d_model + c] = W_enc[c * d_sae + i];
    });
  }
  SparseCodes out;
  out.rows = n;
  out.cols = d_sae;
  out.row_ptr.assign(static_cast<size_t>(n + 1), 0);
  std::vector<float> z(static_cast<size_t>(std::min(n, kEncodeBlock) * d_sae));
  // Per-thread nonzeros of the current block, concatenated in row order afterwards.
  const int parts = parallelParts(std::min(n, kEncodeBlock), threads, 1);
  std::vector<std::vector<int32_t>> tidx(parts);
  std::vector<std::vector<float>> tval(parts);
  std::vector<int64_t> rowCount(static_cast<size_t>(kEncodeBlock));
  for (int64_t r0 = 0; r0 < n; r0 += kEncodeBlock) {
    checkCancel(cancel);
    int64_t rows = std::min(kEncodeBlock, n - r0);
    if (blas)
      gemmNNBlas(rows, d_sae, d_model, 1.0f, X + r0 * d_model, W_enc, z.data(), d_sae, threads);
    else
      gemmNT(GemmKernel::Builtin, rows, d_sae, d_model, 1.0f, X + r0 * d_model, Wt.data(), z.data(), d_sae, threads);
    parallelFor(rows, threads, 1, [&](int64_t b, int64_t e, int t) {
      auto& I = tidx[t];
      auto& V = tval[t];
      I.clear();
      V.clear();
      for (int64_t r = b; r < e; ++r) {
        const float* zr = z.data() + r * d_sae;
        int64_t before = static_cast<int64_t>(I.size());
        for (int64_t i = 0; i < d_sae; ++i) {
          float v = zr[i] + b_enc[i];
          if (v > theta[i]) {  // JumpReLU: the pre-activation itself where it clears the threshold
            I.push_back(static_cast<int32_t>(i));
            V.push_back(v);
          }
        }
        rowCount[r] = static_cast<int64_t>(I.size()) - before;
      }
    });
    for (int64_t r = 0; r < rows; ++r) out.row_ptr[r0 + r + 1] = out.row_ptr[r0 + r] + rowCount[r];
    // Parts are contiguous and in row order, so appending part by part keeps row order (parts a
    // shorter last block did not use have empty buffers).
    for (int t = 0; t < parts; ++t) {
      out.idx.insert(out.idx.end(), tidx[t].begin(), tidx[t].end());
      out.val.insert(out.val.end(), tval[t].begin(), tval[t].end());
      tidx[t].clear();
      tval[t].clear();
    }
  }
  return out;
}

// Explained variance of a reconstruction x_hat of X (n rows, d_model coordinates):
//   EV = 1 - sum_rows ||x_hat - x||^2 / sum_rows ||x - mean(x)||^2,
// mean(x) the per-coordinate mean over the n rows.
//
// Why the decodes walk d_model in chunks of kChunk columns: a row has hundreds of nonzeros and each
// names a decoder row of d_model floats; decoding row by row over all of d_model streams a random
// 9 KiB decoder row from DRAM per nonzero (tens of GB per method at 16k x 8192 rows). One chunk of
// columns of both decoders (d_sae x 64 floats, 4 MiB each at 16k) stays in L3 while every row is
// decoded into 64 register-resident accumulators, so each decoder float comes from DRAM once per
// chunk, and the squared error is taken chunk by chunk (it is a sum over coordinates).
namespace {

constexpr int kChunk = 64;

enum { kMatch, kOwn, kNoPerm, kReuse, kFixed };

struct PairContext {
  const PairEvalInput* in;
  int64_t D;
  bool samePerm;
  size_t Q;
  std::vector<size_t> qOrder;      // hybrid slot of the m-th threshold from the top
  std::vector<float> sNoPerm;      // scale of code i decoded with W_dec(t+1)[i] (folded units)
  std::vector<float> sMatch;       // scale of code i decoded with W_dec(t+1)[perm[i]]
  // Per row, the positions (relative to the row's start) of layer t's nonzeros whose feature
  // switches to W_dec(t) at hybrid m, grouped by m: hybPos[hybPtr[r*Q + m] .. hybPtr[r*Q + m + 1]).
  std::vector<int64_t> hybPtr;
  std::vector<int32_t> hybPos;
};

// One chunk of columns of both decoders and biases, packed contiguously and zero-padded to kChunk:
// a strided slice (rows 9 KiB apart) maps onto a fraction of the cache sets and falls out of L3.
// The slices live in huge pages: rows are visited at random, and 4 KiB pages would cost a TLB
// miss on most of them.

struct PackedChunk {
  PackedChunk(int64_t St, int64_t Sn) : Wt(static_cast<size_t>(St) * kChunk), Wn(static_cast<size_t>(Sn) * kChunk) {}
  int64_t c0 = 0;
  int w = 0;  // valid columns
  LargeBuffer<float> Wt, Wn;
  std::vector<float> bt, bn;
};

namespace generic {
#define SAE_EVAL_AVX2 0
#include "eval_kernel.inc"
#undef SAE_EVAL_AVX2
}  // namespace generic

#ifdef SAE_MATCH_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
#define SAE_EVAL_AVX2 1
#include "eval_kernel.inc"
#undef SAE_EVAL_AVX2
}  // namespace avx2
#pragma GCC pop_options
#endif

void packChunk(const float* W, const float* b, int64_t rows, int64_t D, int64_t c0, int w, int threads,
               LargeBuffer<float>& Wp, std::vector<float>& bp) {
  parallelFor(rows, threads, 256, [&](int64_t rb, int64_t re, int) {
    for (int64_t i = rb; i < re; ++i) {
      float* dst = Wp.data() + i * kChunk;
      std::copy(W + i * D + c0, W + i * D + c0 + w, dst);
      std::fill(dst + w, dst + kChunk, 0.0f);
    }
  });
  bp.assign(kChunk, 0.0f);
  std::copy(b + c0, b + c0 + w, bp.begin());
}

}  // namespace

PairEval evaluatePair(const PairEvalInput& in, int threads, EvalKernels kernels, const std::atomic<bool>* cancel) {
  if (threads <= 0) threads = hardwareThreads();
  const int64_t n = in.n, D = in.d_model, St = in.F_t.cols, Sn = in.F_next.cols;
  if (in.F_t.rows != n || in.F_next.rows != n) throw InputError("codes and activations differ in rows");
  const bool folded = in.theta_t && in.theta_next;
  PairContext cx;
  cx.in = &in;
  cx.D = D;
  cx.samePerm = St == Sn;
  cx.Q = in.hybrid_thresholds.size();
  const size_t Q = cx.Q;
  if (Q > 200) throw InputError("at most 200 hybrid quantiles");
  // Hybrid quantiles from the highest threshold down: the features switched to layer t's decoder
  // only grow as the threshold falls, so each hybrid is the previous one plus a few corrections.
  cx.qOrder.resize(Q);
  std::iota(cx.qOrder.begin(), cx.qOrder.end(), 0);
  std::sort(cx.qOrder.begin(), cx.qOrder.end(),
            [&](size_t a, size_t b) { return in.hybrid_thresholds[a] > in.hybrid_thresholds[b]; });
  // Level of feature i: the first (descending) threshold its cost exceeds, i.e. from which hybrid on
  // it is decoded with W_dec(t); Q = never. Unassigned features exceed every finite threshold.
  std::vector<uint8_t> level(static_cast<size_t>(St));
  for (int64_t i = 0; i < St; ++i) {
    size_t first = Q;
    for (size_t m = 0; m < Q; ++m) {
      double th = in.hybrid_thresholds[cx.qOrder[m]];
      if (in.perm[i] < 0 ? std::isfinite(th) : static_cast<double>(in.costs[i]) > th) {
        first = m;
        break;
      }
    }
    level[i] = static_cast<uint8_t>(first);
  }
  // Folded units: code f_i / theta_t[i] times the folded decoder row theta_next[j] * W_dec(t+1)[j].
  cx.sNoPerm.assign(static_cast<size_t>(St), 1.0f);
  cx.sMatch.assign(static_cast<size_t>(St), 1.0f);
  if (folded)
    for (int64_t i = 0; i < St; ++i) {
      if (cx.samePerm) cx.sNoPerm[i] = static_cast<float>(static_cast<double>(in.theta_next[i]) / in.theta_t[i]);
      if (in.perm[i] >= 0)
        cx.sMatch[i] = static_cast<float>(static_cast<double>(in.theta_next[in.perm[i]]) / in.theta_t[i]);
    }
  // Per-row level buckets of layer t's nonzeros (counting sort by level within each row).
  cx.hybPtr.assign(static_cast<size_t>(n * static_cast<int64_t>(Q) + 1), 0);
  if (Q > 0) {
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = in.F_t.row_ptr[r]; k < in.F_t.row_ptr[r + 1]; ++k) {
        uint8_t m = level[in.F_t.idx[k]];
        if (m < Q) ++cx.hybPtr[r * Q + m + 1];
      }
    for (size_t s = 1; s < cx.hybPtr.size(); ++s) cx.hybPtr[s] += cx.hybPtr[s - 1];
    cx.hybPos.resize(static_cast<size_t>(cx.hybPtr.back()));
    std::vector<int64_t> fill(cx.hybPtr.begin(), cx.hybPtr.end() - 1);
    for (int64_t r = 0; r < n; ++r)
      for (int64_t k = in.F_t.row_ptr[r]; k < in.F_t.row_ptr[r + 1]; ++k) {
        uint8_t m = level[in.F_t.idx[k]];
        if (m < Q) cx.hybPos[fill[r * Q + m]++] = static_cast<int32_t>(k - in.F_t.row_ptr[r]);
      }
  }
  // Mean of X per coordinate (double), for the denominator.
  std::vector<double> mean(static_cast<size_t>(D), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < D; ++c) mean[c] += in.X_next[r * D + c];
  for (auto& m : mean) m /= static_cast<double>(n);
  double var = 0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < D; ++c) {
      double d = in.X_next[r * D + c] - mean[c];
      var += d * d;
    }

  // Chunk by chunk (both threads share the packed slices in L3), rows split between threads.
  const size_t M = kFixed + Q;
  std::vector<std::vector<double>> partial(std::max(parallelParts(n, threads, 64), 1), std::vector<double>(M, 0.0));
#ifdef SAE_MATCH_X86
  const bool avx2 = cpuHasAvx2() && kernels != EvalKernels::Generic;
#endif
  PackedChunk pc(St, Sn);
  for (int64_t c0 = 0; c0 < D; c0 += kChunk) {
    checkCancel(cancel);
    pc.c0 = c0;
    pc.w = static_cast<int>(std::min<int64_t>(kChunk, D - c0));
    packChunk(in.W_dec_t, in.b_dec_t, St, D, c0, pc.w, threads, pc.Wt, pc.bt);
    packChunk(in.W_dec_next, in.b_dec_next, Sn, D, c0, pc.w, threads, pc.Wn, pc.bn);
    parallelFor(n, threads, 64, [&](int64_t b, int64_t e, int t) {
#ifdef SAE_MATCH_X86
      if (avx2) return avx2::evalRows(cx, pc, b, e, partial[t].data(), cancel);
#endif
      generic::evalRows(cx, pc, b, e, partial[t].data(), cancel);
    });
  }
  std::vector<double> sse(M, 0.0);
  for (auto& p : partial)
    for (size_t m = 0; m < M; ++m) sse[m] += p[m];

  // Matching score: active (row, i) of layer t whose partner is active at t+1 in the same row.
  int64_t active = 0, hits = 0;
  {
    std::vector<uint8_t> activeNext(static_cast<size_t>(Sn), 0);
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t k = in.F_next.row_ptr[r]; k < in.F_next.row_ptr[r + 1]; ++k) activeNext[in.F_next.idx[k]] = 1;
      for (int64_t k = in.F_t.row_ptr[r]; k < in.F_t.row_ptr[r + 1]; ++k) {
        if (!(in.F_t.val[k] > 0)) continue;
        int32_t j = in.perm[in.F_t.idx[k]];
        if (j < 0) continue;
        ++active;
        hits += activeNext[j];
      }
      for (int64_t k = in.F_next.row_ptr[r]; k < in.F_next.row_ptr[r + 1]; ++k) activeNext[in.F_next.idx[k]] = 0;
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto ev = [&](double s) { return var > 0 ? 1.0 - s / var : nan; };
  PairEval out;
  out.sae_match = ev(sse[kMatch]);
  out.own = ev(sse[kOwn]);
  out.no_permutation = cx.samePerm ? ev(sse[kNoPerm]) : nan;
  out.reuse_previous = ev(sse[kReuse]);
  for (size_t q = 0; q < Q; ++q) out.hybrid.push_back(ev(sse[kFixed + q]));
  out.matching_score = active > 0 ? static_cast<double>(hits) / static_cast<double>(active) : nan;
  out.matching_active = active;
  return out;
}

}  // namespace saematch
