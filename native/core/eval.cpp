// Reconstruction-based evaluation of SAE Match (see eval.hpp). Encoding is a GEMM per block of rows
// (the dense pre-activations of all rows would be n x d_sae floats); decoding walks the sparse codes.
#include "eval.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "cost.hpp"
#include "lap.hpp"  // InputError, Cancelled
#include "parallel.hpp"

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
                           const std::atomic<bool>* cancel) {
  if (threads <= 0) threads = hardwareThreads();
  // gemmNT wants B as [d_sae, d_model]: W_enc transposed once per layer.
  std::vector<float> Wt(static_cast<size_t>(d_sae * d_model));
  parallelFor(d_sae, threads, 64, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i)
      for (int64_t c = 0; c < d_model; ++c) Wt[i * d_model + c] = W_enc[c * d_sae + i];
  });
  SparseCodes out;
  out.rows = n;
  out.cols = d_sae;
  out.row_ptr.assign(static_cast<size_t>(n + 1), 0);
  std::vector<float> z(static_cast<size_t>(std::min(n, kEncodeBlock) * d_sae));
  // Per-thread nonzeros of the current block, concatenated in row order afterwards.
  std::vector<std::vector<int32_t>> tidx(threads);
  std::vector<std::vector<float>> tval(threads);
  std::vector<int64_t> rowCount(static_cast<size_t>(kEncodeBlock));
  for (int64_t r0 = 0; r0 < n; r0 += kEncodeBlock) {
    checkCancel(cancel);
    int64_t rows = std::min(kEncodeBlock, n - r0);
    gemmNT(GemmKernel::Auto, rows, d_sae, d_model, 1.0f, X + r0 * d_model, Wt.data(), z.data(), d_sae,
           threads);
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
    // Chunks are contiguous and in thread order, so appending thread by thread keeps row order
    // (threads parallelFor did not use have empty buffers).
    for (int t = 0; t < threads; ++t) {
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
// mean(x) the per-coordinate mean over the n rows. Each method accumulates its squared error per
// row in double; the denominator is computed once.
PairEval evaluatePair(const PairEvalInput& in, int threads, const std::atomic<bool>* cancel) {
  if (threads <= 0) threads = hardwareThreads();
  const int64_t n = in.n, D = in.d_model, St = in.F_t.cols, Sn = in.F_next.cols;
  if (in.F_t.rows != n || in.F_next.rows != n) throw InputError("codes and activations differ in rows");
  const bool samePerm = St == Sn;
  const bool folded = in.theta_t && in.theta_next;
  const size_t Q = in.hybrid_thresholds.size();
  if (Q > 200) throw InputError("at most 200 hybrid quantiles");
  // Hybrid quantiles from the highest threshold down: the features switched to layer t's decoder
  // only grow as the threshold falls, so each hybrid is the previous one plus a few corrections.
  std::vector<size_t> qOrder(Q);
  std::iota(qOrder.begin(), qOrder.end(), 0);
  std::sort(qOrder.begin(), qOrder.end(),
            [&](size_t a, size_t b) { return in.hybrid_thresholds[a] > in.hybrid_thresholds[b]; });
  // Level of feature i: how many of the (descending) thresholds its cost exceeds, i.e. from which
  // hybrid on it is decoded with W_dec(t). Unassigned features count as above every threshold < inf.
  std::vector<uint8_t> level(static_cast<size_t>(St));
  for (int64_t i = 0; i < St; ++i) {
    size_t first = Q;
    for (size_t m = 0; m < Q; ++m) {
      double th = in.hybrid_thresholds[qOrder[m]];
      if (in.perm[i] < 0 ? std::isfinite(th) : static_cast<double>(in.costs[i]) > th) {
        first = m;
        break;
      }
    }
    level[i] = static_cast<uint8_t>(first);
  }
  // Mean of X per coordinate (double), for the denominator.
  std::vector<double> mean(static_cast<size_t>(D), 0.0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < D; ++c) mean[c] += in.X_next[r * D + c];
  for (auto& m : mean) m /= static_cast<double>(n);

  enum { kMatch, kOwn, kNoPerm, kReuse, kFixed };
  const size_t M = kFixed + Q;
  struct Acc {
    std::vector<double> sse;
    double var = 0;
    int64_t active = 0, hits = 0;
  };
  std::vector<Acc> acc(threads);
  parallelFor(n, threads, 16, [&](int64_t b, int64_t e, int t) {
    Acc& a = acc[t];
    a.sse.assign(M, 0.0);
    std::vector<double> xh(D), corr(D);
    std::vector<uint8_t> activeNext(static_cast<size_t>(Sn), 0);
    auto sse = [&](const std::vector<double>& v, const float* x) {
      double s = 0;
      for (int64_t c = 0; c < D; ++c) {
        double d = v[c] - x[c];
        s += d * d;
      }
      return s;
    };
    // x_hat = b + sum over nonzeros (i, f) of f * W[map(i)], map(i) < 0 dropped.
    // cross: layer t's codes decoded with layer t+1's rows, rescaled when folded.
    auto decode = [&](const CodesView& F, int64_t r, const float* W, const float* bias,
                      const int32_t* map, bool cross) {
      for (int64_t c = 0; c < D; ++c) xh[c] = bias[c];
      for (int64_t k = F.row_ptr[r]; k < F.row_ptr[r + 1]; ++k) {
        int64_t j = map ? map[F.idx[k]] : F.idx[k];
        if (j < 0) continue;
        const float* w = W + j * D;
        const double f = cross && folded ? static_cast<double>(F.val[k]) / in.theta_t[F.idx[k]] * in.theta_next[j]
                                         : static_cast<double>(F.val[k]);
        for (int64_t c = 0; c < D; ++c) xh[c] += f * w[c];
      }
    };
    for (int64_t r = b; r < e; ++r) {
      if (r % 256 == 0) checkCancel(cancel);
      const float* x = in.X_next + r * D;
      for (int64_t c = 0; c < D; ++c) {
        double d = x[c] - mean[c];
        a.var += d * d;
      }
      decode(in.F_next, r, in.W_dec_next, in.b_dec_next, nullptr, false);
      a.sse[kOwn] += sse(xh, x);
      if (samePerm) {
        decode(in.F_t, r, in.W_dec_next, in.b_dec_next, nullptr, true);
        a.sse[kNoPerm] += sse(xh, x);
      }
      decode(in.F_t, r, in.W_dec_t, in.b_dec_t, nullptr, false);
      a.sse[kReuse] += sse(xh, x);
      decode(in.F_t, r, in.W_dec_next, in.b_dec_next, in.perm, true);
      a.sse[kMatch] += sse(xh, x);
      // Hybrids: from sae_match, switch features of level m to W_dec(t)[i] at the m-th threshold.
      for (size_t m = 0; m < Q; ++m) {
        for (int64_t k = in.F_t.row_ptr[r]; k < in.F_t.row_ptr[r + 1]; ++k) {
          int32_t i = in.F_t.idx[k];
          if (level[i] != m) continue;
          const double f = in.F_t.val[k];
          const float* wt = in.W_dec_t + static_cast<int64_t>(i) * D;
          if (in.perm[i] >= 0) {
            // Undo this feature's sae_match term (scaled as decode() scaled it), add layer t's own.
            const double fn = folded ? f / in.theta_t[i] * in.theta_next[in.perm[i]] : f;
            const float* wn = in.W_dec_next + static_cast<int64_t>(in.perm[i]) * D;
            for (int64_t c = 0; c < D; ++c) xh[c] += f * wt[c] - fn * wn[c];
          } else {
            for (int64_t c = 0; c < D; ++c) xh[c] += f * wt[c];
          }
        }
        a.sse[kFixed + qOrder[m]] += sse(xh, x);
      }
      // Matching score: active (row, i) of layer t whose partner is active at t+1 in the same row.
      for (int64_t k = in.F_next.row_ptr[r]; k < in.F_next.row_ptr[r + 1]; ++k) activeNext[in.F_next.idx[k]] = 1;
      for (int64_t k = in.F_t.row_ptr[r]; k < in.F_t.row_ptr[r + 1]; ++k) {
        if (!(in.F_t.val[k] > 0)) continue;
        int32_t j = in.perm[in.F_t.idx[k]];
        if (j < 0) continue;
        ++a.active;
        a.hits += activeNext[j];
      }
      for (int64_t k = in.F_next.row_ptr[r]; k < in.F_next.row_ptr[r + 1]; ++k) activeNext[in.F_next.idx[k]] = 0;
    }
  });
  std::vector<double> sse(M, 0.0);
  double var = 0;
  int64_t active = 0, hits = 0;
  for (auto& a : acc) {
    if (a.sse.empty()) continue;
    for (size_t m = 0; m < M; ++m) sse[m] += a.sse[m];
    var += a.var;
    active += a.active;
    hits += a.hits;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto ev = [&](double s) { return var > 0 ? 1.0 - s / var : nan; };
  PairEval out;
  out.sae_match = ev(sse[kMatch]);
  out.own = ev(sse[kOwn]);
  out.no_permutation = samePerm ? ev(sse[kNoPerm]) : nan;
  out.reuse_previous = ev(sse[kReuse]);
  for (size_t q = 0; q < Q; ++q) out.hybrid.push_back(ev(sse[kFixed + q]));
  out.matching_score = active > 0 ? static_cast<double>(hits) / static_cast<double>(active) : nan;
  out.matching_active = active;
  return out;
}

}  // namespace saematch
