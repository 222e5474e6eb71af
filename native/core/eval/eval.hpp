// Evaluating a suite's matches by reconstruction (paper §4.2 and App. B): JumpReLU-encode each
// layer's activations with its SAE into sparse codes, then for a pair t -> t+1 decode layer t's codes
// with layer t+1's decoder through the matching permutation and measure explained variance against
// layer t+1's activations, next to the own-SAE upper bound and the baselines.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

namespace saematch {

// Which kernels evaluation runs. Generic: the portable ones (built-in GEMM, plain decode loops) even
// where BLAS and AVX2 exist, so the tests cover the paths other machines take. The two agree to float
// rounding (the GEMM and the decode sums add in a different order).
enum class EvalKernels { Auto, Generic };

// Row-compressed sparse codes [rows, cols]: row r's nonzeros are idx/val[row_ptr[r] .. row_ptr[r+1]).
// Codes are ~100 nonzeros in thousands of features, so everything downstream iterates nonzeros.
struct SparseCodes {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> row_ptr;
  std::vector<int32_t> idx;
  std::vector<float> val;
};

// JumpReLU encode: z = X W_enc + b_enc, f = z where z > theta else 0. X [n, d_model], W_enc
// [d_model, d_sae], b_enc and theta [d_sae], row-major float32.
SparseCodes jumpReluEncode(const float* X, int64_t n, int64_t d_model, const float* W_enc,
                           const float* b_enc, const float* theta, int64_t d_sae, int threads,
                           EvalKernels kernels, const std::atomic<bool>* cancel);

// A read-only view of SparseCodes (the binding hands over typed arrays it does not copy).
struct CodesView {
  int64_t rows = 0, cols = 0;
  const int64_t* row_ptr = nullptr;
  const int32_t* idx = nullptr;
  const float* val = nullptr;
};

struct PairEvalInput {
  const float* X_next = nullptr;  // activations of layer t+1, [n, d_model]
  int64_t n = 0, d_model = 0;
  CodesView F_t, F_next;           // codes of layer t (on X_t) and of layer t+1 (on X_next)
  const float *W_dec_t = nullptr, *b_dec_t = nullptr;        // [d_sae_t, d_model], [d_model]
  const float *W_dec_next = nullptr, *b_dec_next = nullptr;  // [d_sae_next, d_model], [d_model]
  const int32_t* perm = nullptr;   // [d_sae_t]: feature i of t <-> perm[i] of t+1, -1 unassigned
  const float* costs = nullptr;    // [d_sae_t] match costs
  std::vector<double> hybrid_thresholds;  // one cost threshold per hybrid quantile (+inf: q = 1)
  // Folded evaluation (the matching compared folded SAEs, paper §3.3): thresholds of both layers.
  // A code of layer t decoded with layer t+1's decoder row j is then f_i / theta_t[i] * theta_next[j]
  // (folded code times folded decoder row); null for both: raw codes, raw decoder rows.
  const float *theta_t = nullptr, *theta_next = nullptr;
};

struct PairEval {
  double sae_match = 0, own = 0, no_permutation = 0, reuse_previous = 0;  // NaN: not defined
  std::vector<double> hybrid;
  double matching_score = 0;
  int64_t matching_active = 0;  // (row, i) pairs the score is over
};

PairEval evaluatePair(const PairEvalInput& in, int threads, EvalKernels kernels, const std::atomic<bool>* cancel);

}  // namespace saematch
