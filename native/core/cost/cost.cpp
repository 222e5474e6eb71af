#include "cost.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "../errors.hpp"
#include "../parallel.hpp"

#ifdef SAE_MATCH_HAVE_CBLAS
#include <cblas.h>
#endif

namespace saematch {

bool haveBlas() {
#ifdef SAE_MATCH_HAVE_CBLAS
  return true;
#else
  return false;
#endif
}

std::string blasName() {
#if defined(SAE_MATCH_HAVE_CBLAS) && defined(SAE_MATCH_OPENBLAS)
  return std::string("openblas (") + openblas_get_config() + ")";
#elif defined(SAE_MATCH_HAVE_CBLAS)
  return "cblas";
#else
  return "none";
#endif
}

void gemmNT(GemmKernel kernel, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            const float* b, float* c, int64_t ldc, int threads) {
#ifdef SAE_MATCH_HAVE_CBLAS
  if (kernel != GemmKernel::Builtin) {
#ifdef SAE_MATCH_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(k), b, static_cast<int>(k), 0.0f, c,
                static_cast<int>(ldc));
    return;
  }
#else
  if (kernel == GemmKernel::Blas)
    throw InputError("this build of sae-match has no BLAS (kernel 'blas' requested)");
#endif
  gemmNTBuiltin(m, n, k, alpha, a, b, c, ldc, threads);
}

void gemmNNBlas(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float* c,
                int64_t ldc, int threads) {
#ifdef SAE_MATCH_HAVE_CBLAS
#ifdef SAE_MATCH_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(k), b, static_cast<int>(n), 0.0f, c,
              static_cast<int>(ldc));
#else
  (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)b, (void)c, (void)ldc, (void)threads;
  throw InputError("this build of sae-match has no BLAS (gemmNNBlas)");
#endif
}

namespace {

std::vector<double> squaredNorms(const float* x, int64_t n, int64_t k, int threads) {
  std::vector<double> out(n);
  parallelFor(n, threads, 256, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * k;
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(r[p]) * r[p];
      out[i] = s;
    }
  });
  return out;
}

}  // namespace

CostPanels::CostPanels(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k, CostMetric metric,
                       GemmKernel kernel, int threads)
    : a_(a), b_(b), n_a_(n_a), n_b_(n_b), k_(k), metric_(metric), threads_(threads <= 0 ? hardwareThreads() : threads) {
  if (kernel == GemmKernel::Auto) kernel = haveBlas() ? GemmKernel::Blas : GemmKernel::Builtin;
  if (kernel == GemmKernel::Blas && !haveBlas())
    throw InputError("this build of sae-match has no BLAS (kernel 'blas' requested)");
  kernel_ = kernel;
  na_ = squaredNorms(a, n_a, k, threads_);
  nb_ = squaredNorms(b, n_b, k, threads_);
  if (metric == CostMetric::Cosine) {  // turn norms into inverse lengths once
    for (double& x : na_) x = x > 0 ? 1.0 / std::sqrt(x) : 0.0;
    for (double& x : nb_) x = x > 0 ? 1.0 / std::sqrt(x) : 0.0;
  }
}

void CostPanels::compute(const float* a_rows, const double* norms, int64_t rows, float* out) const {
  const float alpha = metric_ == CostMetric::SquaredEuclidean ? -2.0f : 1.0f;
  if (kernel_ == GemmKernel::Blas) {
    // BLAS calls are single-threaded, on blocks of a multiple of kRowTile rows (a short last block
    // padded with zero rows), one block per thread. OpenBLAS's value for an entry depends on where
    // its row falls in the micro-kernel's tiles and in OpenBLAS's own thread split (measured: most
    // entries of a 300-row matrix differ in the last bits from the same rows computed 17 at a time);
    // in whole tiles of a one-thread call it does not, so a row computed in any panel, alone or
    // gathered with others (the sparse method's pricing), is bit for bit the row of the full matrix.
    const int64_t per = std::max<int64_t>(kRowTile, (rows + threads_ - 1) / threads_);
    const int64_t grain = (per + kRowTile - 1) / kRowTile * kRowTile;
    parallelFor(rows, threads_, grain, [&](int64_t r0, int64_t r1, int) {
      const int64_t whole = (r1 - r0) / kRowTile * kRowTile;
      if (whole > 0) gemmNT(GemmKernel::Blas, whole, n_b_, k_, alpha, a_rows + r0 * k_, b_, out + r0 * n_b_, n_b_, 1);
      const int64_t rest = r1 - r0 - whole;
      if (rest > 0) {
        std::vector<float> pa(static_cast<size_t>(kRowTile * k_), 0.0f), pc(static_cast<size_t>(kRowTile * n_b_));
        std::copy(a_rows + (r0 + whole) * k_, a_rows + r1 * k_, pa.data());
        gemmNT(GemmKernel::Blas, kRowTile, n_b_, k_, alpha, pa.data(), b_, pc.data(), n_b_, 1);
        std::copy(pc.data(), pc.data() + rest * n_b_, out + (r0 + whole) * n_b_);
      }
    });
  } else {
    gemmNT(kernel_, rows, n_b_, k_, alpha, a_rows, b_, out, n_b_, threads_);
  }
  const double* nb = nb_.data();
  parallelFor(rows, threads_, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      float* cr = out + r * n_b_;
      const double ni = norms[r];
      if (metric_ == CostMetric::SquaredEuclidean) {
        for (int64_t j = 0; j < n_b_; ++j) {
          double s = ni + nb[j] + static_cast<double>(cr[j]);
          cr[j] = static_cast<float>(s > 0 ? s : 0.0);
        }
      } else {
        for (int64_t j = 0; j < n_b_; ++j)
          cr[j] = static_cast<float>(1.0 - static_cast<double>(cr[j]) * ni * nb[j]);
      }
    }
  });
}

void CostPanels::rows(int64_t i0, int64_t rows, float* out) const {
  compute(a_ + i0 * k_, na_.data() + i0, rows, out);
}

void CostPanels::gathered(const int32_t* list, int64_t count, float* out) const {
  std::vector<float> a(static_cast<size_t>(count * k_));
  std::vector<double> norms(static_cast<size_t>(count));
  for (int64_t r = 0; r < count; ++r) {
    std::copy(a_ + list[r] * k_, a_ + (list[r] + 1) * k_, a.data() + r * k_);
    norms[r] = na_[list[r]];
  }
  compute(a.data(), norms.data(), count, out);
}

CostInfo costMatrix(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                    CostMetric metric, GemmKernel kernel, int threads, int64_t panel_rows, float* out,
                    const std::atomic<bool>* cancel) {
  auto t0 = std::chrono::steady_clock::now();
  const CostPanels panels(a, n_a, b, n_b, k, metric, kernel, threads);
  CostInfo info;
  info.kernel = panels.kernel() == GemmKernel::Blas ? "blas" : "builtin";
  info.threads = panels.threads();
  // Row panels give cancellation a point to act. Every panel's GEMM repacks all of b, so panels must
  // be tall (the default, 2048 rows, and the heights measured are in src/solve/engine.ts and
  // BENCHMARKS.md).
  for (int64_t i0 = 0; i0 < n_a; i0 += panel_rows) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
    const int64_t rows = std::min(panel_rows, n_a - i0);
    panels.rows(i0, rows, out + i0 * n_b);
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace saematch
