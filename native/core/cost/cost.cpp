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

CostInfo costMatrix(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                    CostMetric metric, GemmKernel kernel, int threads, int64_t panel_rows, float* out,
                    const std::atomic<bool>* cancel) {
  auto t0 = std::chrono::steady_clock::now();
  if (threads <= 0) threads = hardwareThreads();
  if (kernel == GemmKernel::Auto) kernel = haveBlas() ? GemmKernel::Blas : GemmKernel::Builtin;
  if (kernel == GemmKernel::Blas && !haveBlas())
    throw InputError("this build of sae-match has no BLAS (kernel 'blas' requested)");
  CostInfo info;
  info.kernel = kernel == GemmKernel::Blas ? "blas" : "builtin";
  info.threads = threads;

  std::vector<double> na = squaredNorms(a, n_a, k, threads);
  std::vector<double> nb = squaredNorms(b, n_b, k, threads);
  if (metric == CostMetric::Cosine) {  // turn norms into inverse lengths once
    for (double& x : na) x = x > 0 ? 1.0 / std::sqrt(x) : 0.0;
    for (double& x : nb) x = x > 0 ? 1.0 / std::sqrt(x) : 0.0;
  }
  const float alpha = metric == CostMetric::SquaredEuclidean ? -2.0f : 1.0f;
  // Row panels give cancellation a point to act. Every panel's GEMM repacks all of b, so panels must
  // be tall (the default, 2048 rows, and the heights measured are in src/solve/engine.ts and
  // BENCHMARKS.md).
  const int64_t panel = panel_rows;
  for (int64_t i0 = 0; i0 < n_a; i0 += panel) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
    int64_t rows = std::min(panel, n_a - i0);
    float* c = out + i0 * n_b;
    gemmNT(kernel, rows, n_b, k, alpha, a + i0 * k, b, c, n_b, threads);
    parallelFor(rows, threads, 16, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        float* cr = c + r * n_b;
        const double ni = na[i0 + r];
        if (metric == CostMetric::SquaredEuclidean) {
          for (int64_t j = 0; j < n_b; ++j) {
            double s = ni + nb[j] + static_cast<double>(cr[j]);
            cr[j] = static_cast<float>(s > 0 ? s : 0.0);
          }
        } else {
          for (int64_t j = 0; j < n_b; ++j)
            cr[j] = static_cast<float>(1.0 - static_cast<double>(cr[j]) * ni * nb[j]);
        }
      }
    });
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace saematch
