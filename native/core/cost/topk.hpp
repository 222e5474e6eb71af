// Top-k candidates per row of a cost matrix (Feature Flow's many-to-one view of a pair of layers):
// for each feature of layer l, the k features of layer l+1 with the smallest cost, read from the
// cost matrix SAE Match already built, so no second product is computed.
#pragma once

#include <cstdint>

namespace saematch {

// c: n_rows x n_cols row-major. idx/cost: n_rows x k, each row sorted by cost (ties: lower column).
// k <= n_cols. NaN costs are never chosen.
void topkRows(const float* c, int64_t n_rows, int64_t n_cols, int64_t k, int32_t* idx, float* cost,
              int threads);

}  // namespace saematch
