// The cost matrix's inputs as the binding reads them, for every export that computes costs
// (cost.cpp, sparse.cpp): two feature matrices, metric 'sqeuclidean' | 'cosine', kernel 'auto' |
// 'blas' | 'builtin' (validated in src/solve/cost.ts before they get here).
#pragma once

#include "../core/cost/cost.hpp"
#include "args.hpp"

namespace saematch::binding {

inline CostMetric costMetricOf(const Args& o) {
  return o.str("metric") == "cosine" ? CostMetric::Cosine : CostMetric::SquaredEuclidean;
}

inline GemmKernel gemmKernelOf(const Args& o) {
  const std::string k = o.str("kernel");
  return k == "blas" ? GemmKernel::Blas : k == "builtin" ? GemmKernel::Builtin : GemmKernel::Auto;
}

// {a, nA, b, nB, k, metric, kernel}: the pair of feature matrices a cost matrix is computed from.
struct FeaturePair {
  const float *a = nullptr, *b = nullptr;
  int64_t na = 0, nb = 0, k = 0;
  CostMetric metric = CostMetric::SquaredEuclidean;
  GemmKernel kernel = GemmKernel::Auto;
};

inline FeaturePair featurePairOf(const Args& o) {
  FeaturePair p;
  p.a = o.f32s("a");
  p.na = o.i64("nA");
  p.b = o.f32s("b");
  p.nb = o.i64("nB");
  p.k = o.i64("k");
  p.metric = costMetricOf(o);
  p.kernel = gemmKernelOf(o);
  return p;
}

}  // namespace saematch::binding
