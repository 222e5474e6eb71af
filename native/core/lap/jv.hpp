// The Jonker-Volgenant solver's state, shared by the files of native/core/lap/ (an internal header;
// the public interface is lap.hpp). One class, one file per part of the algorithm:
//   jv.cpp             phases 1-3 as in the paper (sequential), solveAssignment
//   parallel_init.cpp  phases 1-3 in the data-parallel form the CUDA solver runs
//   warm_start.cpp     phase 4 from a warm start given by the caller, checked first
//   augment.cpp        phase 4, the shortest augmenting paths, and the duals u and total (finish)
//   relax_team.hpp     phase 4's relaxation split over two threads
// The certificate (certificate.cpp) does not use the solver. Each member is defined in one file,
// which explicitly instantiates it where another file calls it.
//
// The class solves the minimisation of c' = (NEG ? -c : c) for n_rows <= n_cols; its duals are those
// of c'.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lap.hpp"
#include "lap_kernels.hpp"

namespace saematch::detail {

using kernels::kInf;
using kernels::MinAt;
using kernels::TwoMin;
using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

inline std::string invalidEntriesMessage(bool maximize) {
  return maximize ? "cost matrix contains invalid numeric entries (NaN or +Infinity when maximizing)"
                  : "cost matrix contains invalid numeric entries (NaN or -Infinity)";
}

template <typename Solver>
class RelaxTeam;

template <typename T, bool NEG>
class JonkerVolgenant {
 public:
  JonkerVolgenant(const T* c, int64_t n_rows, int64_t n_cols, const SolverOptions& options,
                  const std::atomic<bool>* cancel)
      : c_(c), nr_(n_rows), nc_(n_cols), options_(options), cancel_(cancel), x_(n_rows, -1),
        y_(n_cols, -1), v_(n_cols, 0.0) {
#ifdef SAE_MATCH_X86
    avx2_ = cpuHasAvx2();
#endif
  }

  // Phases 1-3 as in the paper, then phase 4 (jv.cpp).
  LapResult run();
  // Phases 1-3 in data-parallel form: see parallelInitReference in lap.hpp (parallel_init.cpp).
  WarmStart parallelInit(int rounds, int64_t maxScans = 0);
  // Phase 4 from parallelInit()'s own result on this matrix (parallel_init.cpp).
  LapResult runFromInit(WarmStart ws);
  // Phase 4 from a caller's warm start, checked first (warm_start.cpp).
  LapResult runWarm(WarmStart ws);

  // Relaxation of columns [lo, hi) from row i at offset h (indices in a and u are absolute): the
  // inner loop of phase 4, run by the solver's thread and by RelaxTeam's helper on disjoint ranges.
  void relaxRange(int64_t i, double h, double* d, int32_t* pred, int64_t lo, int64_t hi, MinAt& a,
                  MinAt& u) const {
    const int32_t ii = static_cast<int32_t>(i);
#ifdef SAE_MATCH_X86
    if (avx2_) {
      kernels::relaxAvx2<NEG>(row(i) + lo, v_.data() + lo, d + lo, pred + lo, y_.data() + lo, hi - lo,
                              h, ii, a, u);
      if (a.index >= 0) a.index += lo;
      if (u.index >= 0) u.index += lo;
      return;
    }
#endif
    kernels::relaxScalar<NEG>(row(i), v_.data(), d, pred, y_.data(), lo, hi, h, ii, a, u);
  }

 private:
  // Phase 4 for `freeRows`, then the duals u and the total (augment.cpp).
  LapResult finish(const std::vector<int32_t>& freeRows, LapResult& r);
  // One shortest augmenting path from free row f (augment.cpp).
  bool augment(int32_t f, std::vector<double>& d, std::vector<int32_t>& pred,
               std::vector<std::pair<int32_t, double>>& scanned, LapStats& stats,
               RelaxTeam<JonkerVolgenant>& team);

  // The entry checks for the paths that skip column reduction, which does them itself (jv.cpp).
  void validateEntries() const;
  // Phases 1 and 2 (jv.cpp).
  bool columnReduction(std::vector<int32_t>& freeRows);
  // Phase 3, one pass (jv.cpp).
  bool augmentingRowReduction(std::vector<int32_t>& freeRows, LapStats& stats);

  const T* row(int64_t i) const { return c_ + i * nc_; }
  double at(int64_t i, int64_t j) const { return kernels::cost<NEG>(c_[i * nc_ + j]); }

  TwoMin twoMin(int64_t i) const {
#ifdef SAE_MATCH_X86
    if (avx2_) return kernels::twoMinAvx2<NEG>(row(i), v_.data(), nc_);
#endif
    TwoMin t;
    kernels::twoMinScalar<NEG>(row(i), v_.data(), 0, nc_, t);
    return t;
  }

  // Reduction transfer (phase 2) for row i holding exactly one column j1 = x_[i]: how much v[j1] drops
  // so that j1 is as cheap for row i as its best other column (0 when the row has no other column).
  double transferDrop(int64_t i) const {
    const int32_t j1 = x_[i];
    TwoMin t = twoMin(i);
    double mu = t.first.index == j1 ? t.second.value : t.first.value;
    return std::isfinite(mu) ? mu - (at(i, j1) - v_[j1]) : 0.0;
  }

  const T* c_;
  int64_t nr_, nc_;
  SolverOptions options_;
  const std::atomic<bool>* cancel_;
  std::vector<int32_t> x_, y_;
  std::vector<double> v_;
  bool avx2_ = false;
};

}  // namespace saematch::detail
