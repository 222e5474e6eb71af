#include "topk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "../parallel.hpp"

namespace saematch {

void topkRows(const float* c, int64_t n_rows, int64_t n_cols, int64_t k, int32_t* idx, float* cost,
              int threads) {
  if (threads <= 0) threads = hardwareThreads();
  parallelFor(n_rows, threads, 64, [&](int64_t b, int64_t e, int) {
    // A max-heap of the k best (cost, column) so far; a candidate only enters when it beats the
    // worst kept, so for k << n_cols the pass is one comparison per entry.
    std::vector<std::pair<float, int32_t>> heap;
    heap.reserve(k);
    for (int64_t i = b; i < e; ++i) {
      heap.clear();
      const float* row = c + i * n_cols;
      for (int64_t j = 0; j < n_cols; ++j) {
        const float x = row[j];
        if (std::isnan(x)) continue;
        std::pair<float, int32_t> cand{x, static_cast<int32_t>(j)};
        if (static_cast<int64_t>(heap.size()) < k) {
          heap.push_back(cand);
          std::push_heap(heap.begin(), heap.end());
        } else if (cand < heap.front()) {
          std::pop_heap(heap.begin(), heap.end());
          heap.back() = cand;
          std::push_heap(heap.begin(), heap.end());
        }
      }
      std::sort_heap(heap.begin(), heap.end());
      for (int64_t r = 0; r < k; ++r) {
        const bool have = r < static_cast<int64_t>(heap.size());
        idx[i * k + r] = have ? heap[r].second : -1;
        cost[i * k + r] = have ? heap[r].first : std::numeric_limits<float>::quiet_NaN();
      }
    }
  });
}

}  // namespace saematch
