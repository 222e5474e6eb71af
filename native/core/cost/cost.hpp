// The SAE Match cost matrix (paper eq. 3): squared Euclidean distances between the folded feature
// vectors of two layers, C[i,j] = ||a_i||^2 + ||b_j||^2 - 2 a_i.b_j, one GEMM plus two norm vectors.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace saematch {

enum class CostMetric { SquaredEuclidean, Cosine };
enum class GemmKernel { Auto, Blas, Builtin };

struct CostInfo {
  std::string kernel;  // "blas" or "builtin"
  int threads = 1;
  double seconds = 0;
};

// a: n_a x k, b: n_b x k, row-major float32; out: n_a x n_b row-major float32.
// SquaredEuclidean: ||a_i - b_j||^2 clamped at 0 (the product form can round below zero).
// Cosine: 1 - a_i.b_j / (||a_i|| ||b_j||); a zero vector has cosine 0 with everything.
// The matrix is computed in panels of panel_rows rows (>= 1; the caller's choice, see cost.cpp),
// between which `cancel` is polled; the result does not depend on the panel height.
CostInfo costMatrix(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                    CostMetric metric, GemmKernel kernel, int threads, int64_t panel_rows, float* out,
                    const std::atomic<bool>* cancel);

// C = alpha * A * B^T for row-major A (m x k) and B (n x k), C (m x n) with leading dimension ldc.
void gemmNT(GemmKernel kernel, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            const float* b, float* c, int64_t ldc, int threads);

// C = alpha * A * B for row-major A (m x k) and B (k x n): only with BLAS (haveBlas()); without it,
// callers transpose B once and use gemmNT (the built-in kernel wants B's rows contiguous in k).
void gemmNNBlas(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float* c,
                int64_t ldc, int threads);

// The built-in cache-blocked, vectorised GEMM used when no BLAS was found at build time.
void gemmNTBuiltin(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
                   float* c, int64_t ldc, int threads);

bool haveBlas();
std::string blasName();

}  // namespace saematch
