// JV phase 4 from a warm start the caller gives (square, minimise), e.g. the CUDA solver's result.
// The warm start is checked, not trusted: malformed x/y/v are an InputError, and an assigned row
// whose column is not a row minimum under v is freed and augmented like the free rows, so the result
// is optimal whatever the device did (lap.hpp, solveFromWarmStart).
#include <algorithm>
#include <cmath>
#include <limits>

#include "jv.hpp"
#include "../parallel.hpp"

namespace saematch {
namespace detail {

template <typename T, bool NEG>
LapResult JonkerVolgenant<T, NEG>::runWarm(WarmStart ws) {
  LapResult r;
  auto t0 = Clock::now();
  if (static_cast<int64_t>(ws.x.size()) != nr_ || static_cast<int64_t>(ws.y.size()) != nc_ ||
      static_cast<int64_t>(ws.v.size()) != nc_)
    throw InputError("warm start: x, y and v must have one entry per row / column");
  for (int64_t i = 0; i < nr_; ++i) {
    int32_t j = ws.x[i];
    if (j < -1 || j >= nc_ || (j >= 0 && ws.y[j] != i))
      throw InputError("warm start: x and y are not one assignment (row " + std::to_string(i) + ")");
  }
  for (int64_t j = 0; j < nc_; ++j) {
    int32_t i = ws.y[j];
    if (i < -1 || i >= nr_ || (i >= 0 && ws.x[i] != j))
      throw InputError("warm start: x and y are not one assignment (column " + std::to_string(j) + ")");
    if (!std::isfinite(ws.v[j])) throw InputError("warm start: v[" + std::to_string(j) + "] is not finite");
  }
  validateEntries();
  x_ = std::move(ws.x);
  y_ = std::move(ws.y);
  v_ = std::move(ws.v);
  r.stats = ws.stats;
  // The check is one pass over the rows, on all cores: 0 keep, 1 reject, 2 no allowed column.
  std::vector<uint8_t> verdict(nr_, 0);
  parallelFor(nr_, std::max(1, hardwareThreads()), 64, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      if ((i & 1023) == 0) checkCancel(cancel_);
      int32_t j = x_[i];
      if (j < 0) continue;
      TwoMin t = twoMin(i);
      verdict[i] = t.first.index < 0 ? 2 : at(i, j) - v_[j] <= t.first.value ? 0 : 1;
    }
  });
  std::vector<int32_t> freeRows;
  for (int64_t i = 0; i < nr_; ++i) {
    if (verdict[i] == 2) return r;  // the row has no allowed column: infeasible
    int32_t j = x_[i];
    if (j >= 0 && verdict[i] == 0) continue;
    if (j >= 0) {
      ++r.stats.warm_start_rejected;
      x_[i] = -1;
      y_[j] = -1;
    }
    freeRows.push_back(static_cast<int32_t>(i));
  }
  r.stats.free_after_arr = static_cast<int64_t>(freeRows.size());
  r.stats.seconds_init += secondsSince(t0);
  return finish(freeRows, r);
}

}  // namespace detail

LapResult solveFromWarmStart(const float* cost, int64_t n, WarmStart ws, const SolverOptions& options,
                             const std::atomic<bool>* cancel) {
  if (n <= 0 || n > std::numeric_limits<int32_t>::max()) throw InputError("warm start: n must be in [1, 2^31-1]");
  return detail::JonkerVolgenant<float, false>(cost, n, n, options, cancel).runWarm(std::move(ws));
}

}  // namespace saematch
