// The cost matrix's two options as the binding reads them, for every export that computes costs
// (cost.cpp, sparse.cpp): metric 'sqeuclidean' | 'cosine', kernel 'auto' | 'blas' | 'builtin'
// (validated in src/solve/cost.ts before they get here).
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

}  // namespace saematch::binding
