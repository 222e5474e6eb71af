// JV phases 1-3 in the data-parallel form the CUDA solver runs (the rules are in lap.hpp, at
// parallelInitReference): the host reference of native/cuda/init_kernels.cu, and the CPU backend's
// initialisation for large square pairs. solveWithParallelInit continues with phase 4.
#include <algorithm>
#include <limits>

#include "jv.hpp"
#include "../parallel.hpp"

namespace saematch {
namespace detail {

template <typename T, bool NEG>
WarmStart JonkerVolgenant<T, NEG>::parallelInit(int rounds, int64_t maxScans) {
  WarmStart ws;
  auto t0 = Clock::now();
  const int64_t n = nr_;
  // Every step below is a pass over independent rows (that is what makes it a device algorithm), so
  // the host runs them on all cores too; results do not depend on the split.
  const int threads = std::max(1, hardwareThreads());
  // 1. Column reduction: per-part minima over contiguous row blocks, merged in row order (strict <
  // keeps the lowest row on ties, as one pass would).
  std::vector<T> vmin(nc_, std::numeric_limits<T>::infinity());
  std::vector<int32_t> arg(nc_, -1);
  {
    const int parts = parallelParts(nr_, threads, 256);
    std::vector<std::vector<T>> tmin(parts);
    std::vector<std::vector<int32_t>> targ(parts);
    std::atomic<bool> bad{false};
    parallelFor(nr_, threads, 256, [&](int64_t b, int64_t e, int t) {
      tmin[t].assign(nc_, std::numeric_limits<T>::infinity());
      targ[t].assign(nc_, -1);
      for (int64_t i = b; i < e; ++i) {
        if ((i & 1023) == 0) checkCancel(cancel_);
        if (!kernels::columnMinScalar<NEG>(row(i), tmin[t].data(), targ[t].data(), nc_, static_cast<int32_t>(i)))
          bad = true;
      }
    });
    if (bad) throw InputError(invalidEntriesMessage(NEG));
    for (int t = 0; t < parts; ++t) {
      if (targ[t].empty()) continue;
      for (int64_t j = 0; j < nc_; ++j)
        if (targ[t][j] >= 0 && tmin[t][j] < vmin[j]) {
          vmin[j] = tmin[t][j];
          arg[j] = targ[t][j];
        }
    }
  }
  std::vector<int32_t> matches(nr_, 0);
  for (int64_t j = 0; j < nc_; ++j) {
    if (arg[j] < 0) {
      ws.infeasible = true;
      return ws;
    }
    v_[j] = static_cast<double>(vmin[j]);
    int32_t i = arg[j];
    ++matches[i];
    int32_t k = x_[i];
    if (k < 0 || v_[j] < v_[k] || (v_[j] == v_[k] && j > k)) x_[i] = static_cast<int32_t>(j);
  }
  for (int64_t i = 0; i < nr_; ++i)
    if (x_[i] >= 0) y_[x_[i]] = static_cast<int32_t>(i);
  // 2. Reduction transfer against the v of step 1, applied all at once.
  std::vector<double> drop(nr_, 0.0);
  parallelFor(nr_, threads, 64, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      if (matches[i] != 1) continue;
      drop[i] = transferDrop(i);
    }
  });
  for (int64_t i = 0; i < nr_; ++i)
    if (matches[i] == 1) v_[x_[i]] -= drop[i];
  std::vector<int32_t> freeRows;
  for (int64_t i = 0; i < n; ++i)
    if (x_[i] < 0) freeRows.push_back(static_cast<int32_t>(i));
  ws.stats.free_after_column_reduction = static_cast<int64_t>(freeRows.size());
  // 3. Jacobi augmenting row reduction.
  std::vector<int32_t> target(nr_, -1), winner(nc_, std::numeric_limits<int32_t>::max());
  std::vector<double> dec(nr_, 0.0);
  int round = 0;
  size_t best = freeRows.size();
  int lastGain = 0;
  int64_t scansAtGain = 0;
  for (; round < rounds && !freeRows.empty(); ++round) {
    // Stall: no new low of the free count in kArrStallRounds rounds (ties make rows trade columns
    // without a price change, e.g. integer costs); phase 4 does better with what is left.
    if (round - lastGain >= kArrStallRounds) break;
    // The CPU's rules (maxScans > 0; the device has neither): no more row scans than the sequential
    // phase 3 may make, and a stall counted in scans, n / 4 of them without a new low. The rounds are
    // a Jacobi auction: where prices move by tiny steps (2-D geometric costs) they ran 90 n scans
    // where the sequential phase stops at 8 n, and where ties trade columns (integer costs) 64 idle
    // rounds over 500 free rows; phase 4 settles what is left for less (BENCHMARKS.md, "The parallel
    // initialisation's budget").
    if (maxScans > 0 && (ws.stats.arr_row_scans + static_cast<int64_t>(freeRows.size()) > maxScans ||
                         ws.stats.arr_row_scans - scansAtGain > nr_ / 4))
      break;
    checkCancel(cancel_);
    // Bids against the same v (read-only here), then the lowest bidder per column.
    std::atomic<bool> noColumn{false};
    const int64_t nf = static_cast<int64_t>(freeRows.size());
    ws.stats.arr_row_scans += nf;
    auto bid = [&](int64_t b, int64_t e, int) {
      for (int64_t k = b; k < e; ++k) {
        const int32_t i = freeRows[k];
        TwoMin t = twoMin(i);
        if (t.first.index < 0) {
          noColumn = true;
          continue;
        }
        double u1 = t.first.value, u2 = t.second.value;
        int32_t j = static_cast<int32_t>(t.first.index);
        double d = 0;
        if (u1 < u2) {
          if (std::isfinite(u2)) d = u2 - u1;
        } else if (y_[j] >= 0) {
          // The first other column at the tied minimum (the device computes the same, whichever
          // twoMin kernel ran here).
          int64_t j2 = kernels::secondIndex<NEG>(row(i), v_.data(), nc_, j, u2);
          if (j2 >= 0) j = static_cast<int32_t>(j2);
        }
        target[i] = j;
        dec[i] = d;
      }
    };
    // A round over a few rows is not worth waking threads for.
    if (nf * nc_ >= (int64_t{1} << 20)) parallelFor(nf, threads, 16, bid);
    else bid(0, nf, 0);
    if (noColumn) {
      ws.infeasible = true;
      return ws;
    }
    for (int32_t i : freeRows) winner[target[i]] = std::min(winner[target[i]], i);
    for (int32_t i : freeRows) {
      int32_t j = target[i];
      if (winner[j] != i) continue;
      int32_t i0 = y_[j];
      if (i0 >= 0) x_[i0] = -1;
      x_[i] = j;
      y_[j] = i;
      v_[j] -= dec[i];
    }
    for (int32_t i : freeRows) winner[target[i]] = std::numeric_limits<int32_t>::max();
    freeRows.clear();
    for (int64_t i = 0; i < n; ++i)
      if (x_[i] < 0) freeRows.push_back(static_cast<int32_t>(i));
    if (freeRows.size() < best) {
      best = freeRows.size();
      lastGain = round + 1;
      scansAtGain = ws.stats.arr_row_scans;
    }
  }
  ws.stats.parallel_rounds = round;
  ws.stats.free_after_arr = static_cast<int64_t>(freeRows.size());
  ws.stats.seconds_init = secondsSince(t0);
  ws.x = std::move(x_);
  ws.y = std::move(y_);
  ws.v = std::move(v_);
  return ws;
}

// Phase 4 from parallelInit()'s own result on this matrix: its entries were validated and its
// assigned rows hold row minima by construction, so the free rows are simply the unassigned ones.
template <typename T, bool NEG>
LapResult JonkerVolgenant<T, NEG>::runFromInit(WarmStart ws) {
  LapResult r;
  x_ = std::move(ws.x);
  y_ = std::move(ws.y);
  v_ = std::move(ws.v);
  r.stats = ws.stats;
  std::vector<int32_t> freeRows;
  for (int64_t i = 0; i < nr_; ++i)
    if (x_[i] < 0) freeRows.push_back(static_cast<int32_t>(i));
  r.stats.free_after_arr = static_cast<int64_t>(freeRows.size());
  return finish(freeRows, r);
}

}  // namespace detail

WarmStart parallelInitReference(const float* cost, int64_t n, int rounds, const std::atomic<bool>* cancel,
                                int64_t maxScans) {
  if (n <= 0 || n > std::numeric_limits<int32_t>::max()) throw InputError("parallel init: n must be in [1, 2^31-1]");
  // The options are phase 4's, which this does not run.
  return detail::JonkerVolgenant<float, false>(cost, n, n, SolverOptions{}, cancel).parallelInit(rounds, maxScans);
}

int64_t sequentialArrScans(int64_t n) { return 2 * (4 * n + 1024); }

LapResult solveWithParallelInit(const float* cost, int64_t n, int rounds, const SolverOptions& options,
                                const std::atomic<bool>* cancel, int64_t maxScans) {
  WarmStart ws = parallelInitReference(cost, n, rounds, cancel, maxScans);
  if (ws.infeasible) return LapResult{};
  return detail::JonkerVolgenant<float, false>(cost, n, n, options, cancel).runFromInit(std::move(ws));
}

}  // namespace saematch
