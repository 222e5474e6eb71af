// Jonker-Volgenant (1987) for dense float32/float64 cost matrices. The four phases of the paper:
//   1. column reduction      v_j = min_i c_ij, each column to its minimising row if that row is free;
//   2. reduction transfer    rows holding exactly one column pass their slack on to that column;
//   3. augmenting row reduction (two passes), an auction-like phase that settles most free rows;
//   4. shortest augmenting paths (Dijkstra over columns) for the rows still free (augment.cpp).
// On SAE-like matrices (most features have one clearly closest partner) phases 1-3 assign nearly
// every row, and the Dijkstra phase only has to untangle the features without a partner.
#include <algorithm>
#include <cmath>
#include <limits>

#include "jv.hpp"

namespace saematch {
namespace detail {

template <typename T, bool NEG>
LapResult JonkerVolgenant<T, NEG>::run() {
  LapResult r;
  auto t0 = Clock::now();
  std::vector<int32_t> freeRows;
  if (nr_ == nc_) {
    if (!columnReduction(freeRows)) return r;  // a column with no allowed row: infeasible
    r.stats.free_after_column_reduction = static_cast<int64_t>(freeRows.size());
  } else {
    validateEntries();
    freeRows.resize(nr_);
    for (int64_t i = 0; i < nr_; ++i) freeRows[i] = static_cast<int32_t>(i);
    r.stats.free_after_column_reduction = nr_;
  }
  for (int pass = 0; pass < 2 && !freeRows.empty(); ++pass)
    if (!augmentingRowReduction(freeRows, r.stats)) return r;
  r.stats.free_after_arr = static_cast<int64_t>(freeRows.size());
  r.stats.seconds_init = secondsSince(t0);
  return finish(freeRows, r);
}

template <typename T, bool NEG>
void JonkerVolgenant<T, NEG>::validateEntries() const {
  const T lo = -std::numeric_limits<T>::infinity();
  for (int64_t i = 0; i < nr_; ++i) {
    if ((i & 1023) == 0) checkCancel(cancel_);
    const T* rw = row(i);
    bool ok = true;
    for (int64_t j = 0; j < nc_; ++j) ok &= (NEG ? -rw[j] : rw[j]) > lo;
    if (!ok) throw InputError(invalidEntriesMessage(NEG));
  }
}

// Returns false when some column has no allowed row (the problem is infeasible).
template <typename T, bool NEG>
bool JonkerVolgenant<T, NEG>::columnReduction(std::vector<int32_t>& freeRows) {
  std::vector<T> vmin(nc_, std::numeric_limits<T>::infinity());
  std::vector<int32_t> arg(nc_, -1);
  for (int64_t i = 0; i < nr_; ++i) {
    if ((i & 1023) == 0) checkCancel(cancel_);
    if (!kernels::columnMinScalar<NEG>(row(i), vmin.data(), arg.data(), nc_,
                                       static_cast<int32_t>(i)))
      throw InputError(invalidEntriesMessage(NEG));
  }
  std::vector<int32_t> matches(nr_, 0);
  // Reverse column order as in the paper: with a constant matrix this yields the identity.
  for (int64_t j = nc_ - 1; j >= 0; --j) {
    if (arg[j] < 0) return false;
    int32_t i = arg[j];
    v_[j] = static_cast<double>(vmin[j]);
    if (++matches[i] == 1) {
      x_[i] = static_cast<int32_t>(j);
      y_[j] = i;
    } else if (v_[j] < v_[x_[i]]) {
      y_[x_[i]] = -1;
      x_[i] = static_cast<int32_t>(j);
      y_[j] = i;
    } else {
      y_[j] = -1;
    }
  }
  for (int64_t i = 0; i < nr_; ++i) {
    if (matches[i] == 0) {
      freeRows.push_back(static_cast<int32_t>(i));
    } else if (matches[i] == 1) {
      // Reduction transfer: the row keeps its column, which absorbs the row's slack.
      v_[x_[i]] -= transferDrop(i);
    }
  }
  return true;
}

// Free rows bid for their best column; the price v of that column drops by the gap to the second
// best, and a displaced row is re-processed at once (strict drop) or next pass.
template <typename T, bool NEG>
bool JonkerVolgenant<T, NEG>::augmentingRowReduction(std::vector<int32_t>& freeRows, LapStats& stats) {
  // Bound the auction: with nearly tied costs the price drops can be tiny and the bidding long;
  // the rows still free when the bound is hit go to the exact shortest-path phase. The bound is
  // generous because a scan here is cheaper than the Dijkstra step that would replace it (the caps
  // tried are in BENCHMARKS.md).
  const int64_t maxScans = sequentialArrScans(nr_) / 2;  // a pass's share
  int64_t scans = 0;
  size_t k = 0, prv = freeRows.size(), numfree = 0;
  while (k < prv) {
    if (scans++ >= maxScans) {
      while (k < prv) freeRows[numfree++] = freeRows[k++];
      break;
    }
    if ((scans & 255) == 0) checkCancel(cancel_);
    int32_t i = freeRows[k++];
    TwoMin t = twoMin(i);
    if (t.first.index < 0) return false;  // the row has no allowed column
    double umin = t.first.value, usub = t.second.value;
    int32_t j1 = static_cast<int32_t>(t.first.index);
    int32_t i0 = y_[j1];
    bool strict = umin < usub;
    if (strict) {
      if (std::isfinite(usub)) v_[j1] -= usub - umin;
      else strict = false;  // only one allowed column: take it without moving its price
    } else if (i0 >= 0) {
      int64_t j2 = t.second.index >= 0
                       ? t.second.index
                       : kernels::secondIndex<NEG>(row(i), v_.data(), nc_, j1, usub);
      j1 = static_cast<int32_t>(j2);
      i0 = y_[j1];
    }
    if (i0 >= 0) x_[i0] = -1;
    x_[i] = j1;
    y_[j1] = i;
    if (i0 >= 0) {
      if (strict) freeRows[--k] = i0;
      else freeRows[numfree++] = i0;
    }
  }
  stats.arr_row_scans += scans;
  freeRows.resize(numfree);
  return true;
}

// The warm-start check (warm_start.cpp) validates entries of square float32 matrices too.
template void JonkerVolgenant<float, false>::validateEntries() const;

namespace {

template <typename T, bool NEG>
LapResult solveOriented(const T* cost, int64_t n_rows, int64_t n_cols, const SolverOptions& options,
                        const std::atomic<bool>* cancel) {
  if (n_rows <= n_cols) return JonkerVolgenant<T, NEG>(cost, n_rows, n_cols, options, cancel).run();
  // Tall matrix: solve the transpose (the algorithm fully assigns the rows) and swap the roles back.
  // This is the one case that copies the matrix.
  std::vector<T> t(static_cast<size_t>(n_rows) * n_cols);
  for (int64_t i = 0; i < n_rows; ++i)
    for (int64_t j = 0; j < n_cols; ++j) t[j * n_rows + i] = cost[i * n_cols + j];
  LapResult r = JonkerVolgenant<T, NEG>(t.data(), n_cols, n_rows, options, cancel).run();
  std::swap(r.x, r.y);
  std::swap(r.u, r.v);
  return r;
}

}  // namespace
}  // namespace detail

template <typename T>
LapResult solveAssignment(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize,
                          const SolverOptions& options, const std::atomic<bool>* cancel) {
  if (n_rows < 0 || n_cols < 0) throw InputError("cost matrix dimensions must be non-negative");
  if (std::max(n_rows, n_cols) > std::numeric_limits<int32_t>::max())
    throw InputError("cost matrix has more than 2^31-1 rows or columns");
  if (n_rows == 0 || n_cols == 0) {
    LapResult r;
    r.feasible = true;
    r.x.assign(n_rows, -1);
    r.y.assign(n_cols, -1);
    r.u.assign(n_rows, 0.0);
    r.v.assign(n_cols, 0.0);
    return r;
  }
  LapResult r = maximize ? detail::solveOriented<T, true>(cost, n_rows, n_cols, options, cancel)
                         : detail::solveOriented<T, false>(cost, n_rows, n_cols, options, cancel);
  if (maximize) {  // report the duals of the problem as posed: c_ij <= u_i + v_j
    for (double& a : r.u) a = -a;
    for (double& a : r.v) a = -a;
  }
  return r;
}

template LapResult solveAssignment<float>(const float*, int64_t, int64_t, bool, const SolverOptions&,
                                          const std::atomic<bool>*);
template LapResult solveAssignment<double>(const double*, int64_t, int64_t, bool, const SolverOptions&,
                                           const std::atomic<bool>*);

}  // namespace saematch
