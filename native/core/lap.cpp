// Jonker-Volgenant (1987) for dense float32/float64 cost matrices. The four phases of the paper:
//   1. column reduction      v_j = min_i c_ij, each column to its minimising row if that row is free;
//   2. reduction transfer    rows holding exactly one column pass their slack on to that column;
//   3. augmenting row reduction (two passes), an auction-like phase that settles most free rows;
//   4. shortest augmenting paths (Dijkstra over columns) for the rows still free.
// On SAE-like matrices (most features have one clearly closest partner) phases 1-3 assign nearly
// every row, and the Dijkstra phase only has to untangle the features without a partner.
//
// Design choice, measured on this project's benchmark families: the Dijkstra relaxation runs over all
// columns densely with AVX2 (scanned columns masked by a NaN in d) instead of over JV's compacted
// "todo" list. The compacted list needs gathers; the dense pass streams the cost row, v, d and y and
// is several times faster per step even though it touches the already-scanned columns again.
#include "lap.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <atomic>
#include <limits>
#include <thread>

#include "lap_kernels.hpp"
#include "parallel.hpp"

namespace saematch {
namespace {

using kernels::kInf;
using kernels::MinAt;
using kernels::TwoMin;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

std::string invalidEntriesMessage(bool maximize) {
  return maximize ? "cost matrix contains invalid numeric entries (NaN or +Infinity when maximizing)"
                  : "cost matrix contains invalid numeric entries (NaN or -Infinity)";
}

// Solves the minimisation of c' = (NEG ? -c : c) for n_rows <= n_cols. Duals are those of c'.
template <typename T, bool NEG>
class JonkerVolgenant {
 public:
  JonkerVolgenant(const T* c, int64_t n_rows, int64_t n_cols, const std::atomic<bool>* cancel)
      : c_(c), nr_(n_rows), nc_(n_cols), cancel_(cancel), x_(n_rows, -1), y_(n_cols, -1),
        v_(n_cols, 0.0) {
#ifdef SAE_MATCH_X86
    avx2_ = kernels::cpuHasAvx2();
#endif
  }

  LapResult run() {
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

  // See parallelInitReference in lap.hpp (square, minimise).
  WarmStart parallelInit(int rounds) {
    WarmStart ws;
    auto t0 = Clock::now();
    const int64_t n = nr_;
    // Every step below is a pass over independent rows (that is what makes it a device algorithm), so
    // the host runs them on all cores too; results do not depend on the split.
    const int threads = std::max(1, hardwareThreads());
    // 1. Column reduction: per-thread minima over contiguous row blocks, merged in row order (strict <
    // keeps the lowest row on ties, as one pass would).
    std::vector<T> vmin(nc_, std::numeric_limits<T>::infinity());
    std::vector<int32_t> arg(nc_, -1);
    {
      std::vector<std::vector<T>> tmin(threads);
      std::vector<std::vector<int32_t>> targ(threads);
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
      for (int t = 0; t < threads; ++t) {
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
    for (; round < rounds && !freeRows.empty(); ++round) {
      // Stall: no new low of the free count in kArrStallRounds rounds (ties make rows trade columns
      // without a price change, e.g. integer costs); phase 4 does better with what is left.
      if (round - lastGain >= kArrStallRounds) break;
      checkCancel(cancel_);
      // Bids against the same v (read-only here), then the lowest bidder per column.
      std::atomic<bool> noColumn{false};
      const int64_t nf = static_cast<int64_t>(freeRows.size());
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

  // Phase 4 from a checked warm start (square, minimise).
  // Phase 4 from parallelInit()'s own result on this matrix: its entries were validated and its
  // assigned rows hold row minima by construction, so the free rows are simply the unassigned ones.
  LapResult runFromInit(WarmStart ws) {
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

  LapResult runWarm(WarmStart ws) {
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

 private:
  // Phase 4 for `freeRows`, then the duals u and the total.
  LapResult finish(const std::vector<int32_t>& freeRows, LapResult& r) {
    auto t1 = Clock::now();
    std::vector<double> d(nc_);
    std::vector<int32_t> pred(nc_, -1);
    std::vector<std::pair<int32_t, double>> scanned;
    {
      RelaxTeam team(*this, freeRows.size());
      for (int32_t f : freeRows) {
        checkCancel(cancel_);
        if (!augment(f, d, pred, scanned, r.stats)) return r;
        ++r.stats.augmentations;
      }
    }
    r.stats.seconds_augment = secondsSince(t1);

    r.feasible = true;
    r.u.resize(nr_);
    for (int64_t i = 0; i < nr_; ++i) {
      int32_t j = x_[i];
      r.u[i] = at(i, j) - v_[j];
      r.total += static_cast<double>(c_[i * nc_ + j]);
    }
    r.x = std::move(x_);
    r.y = std::move(y_);
    r.v = std::move(v_);
    return std::move(r);
  }

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

  // Relaxation of columns [lo, hi) from row i (indices in a and u are absolute).
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

  // One Dijkstra step's relaxation over all columns: split with the helper thread when there is one.
  void relax(int64_t i, double h, double* d, int32_t* pred, MinAt& a, MinAt& u) {
    if (!team_) return relaxRange(i, h, d, pred, 0, nc_, a, u);
    team_->job = {i, h, d, pred};
    const uint64_t g = team_->gen.fetch_add(1, std::memory_order_release) + 1;
    relaxRange(i, h, d, pred, 0, team_->split, a, u);
    while (team_->done.load(std::memory_order_acquire) != g) kernels::cpuRelax();
    // Ties go to the lower column, as in one sequential scan.
    if (team_->a.value < a.value) a = team_->a;
    if (team_->u.value < u.value) u = team_->u;
  }

  // Phase 4 spends its time in relaxations over all n columns, ~20 us each at n = 16k and often a
  // thousand per augmentation on rows without a partner; the rest of the solver is sequential, so
  // the second core is idle. A helper thread takes the upper half of the columns of every step,
  // woken by a generation counter it spins on (a futex wake-up would cost as much as the work).
  struct Team {
    struct Job {
      int64_t i;
      double h;
      double* d;
      int32_t* pred;
    } job{};
    std::atomic<uint64_t> gen{0}, done{0};
    std::atomic<bool> stop{false};
    int64_t split = 0;
    MinAt a, u;
    std::thread thread;
  };
  class RelaxTeam {
   public:
    RelaxTeam(JonkerVolgenant& jv, size_t free_rows) : jv_(jv) {
      // SAE_MATCH_LAP_THREADS=1 keeps phase 4 on one thread (tests compare the two; benchmarks too).
      const char* env = std::getenv("SAE_MATCH_LAP_THREADS");
      if (jv.nc_ < 4096 || free_rows < 4 || hardwareThreads() < 2 || (env && std::atoi(env) == 1)) return;
      team_.split = (jv.nc_ / 2) & ~int64_t{7};
      team_.thread = std::thread([this] { work(); });
      jv_.team_ = &team_;
    }
    ~RelaxTeam() {
      if (!jv_.team_) return;
      team_.stop.store(true, std::memory_order_release);
      team_.thread.join();
      jv_.team_ = nullptr;
    }
    RelaxTeam(const RelaxTeam&) = delete;
    RelaxTeam& operator=(const RelaxTeam&) = delete;

   private:
    void work() {
      uint64_t seen = 0;
      for (;;) {
        uint64_t g;
        for (int spins = 0; (g = team_.gen.load(std::memory_order_acquire)) == seen; ++spins) {
          if (team_.stop.load(std::memory_order_acquire)) return;
          if (spins > (1 << 14)) std::this_thread::yield();  // between augmentations: let others run
          kernels::cpuRelax();
        }
        seen = g;
        MinAt a, u;
        const auto& j = team_.job;
        jv_.relaxRange(j.i, j.h, j.d, j.pred, team_.split, jv_.nc_, a, u);
        team_.a = a;
        team_.u = u;
        team_.done.store(g, std::memory_order_release);
      }
    }
    JonkerVolgenant& jv_;
    Team team_;
  };

  void validateEntries() const {
    const T lo = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < nr_; ++i) {
      if ((i & 1023) == 0) checkCancel(cancel_);
      const T* rw = row(i);
      bool ok = true;
      for (int64_t j = 0; j < nc_; ++j) ok &= (NEG ? -rw[j] : rw[j]) > lo;
      if (!ok) throw InputError(invalidEntriesMessage(NEG));
    }
  }

  // Phases 1 and 2. Returns false when some column has no allowed row (the problem is infeasible).
  bool columnReduction(std::vector<int32_t>& freeRows) {
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

  // Phase 3, one pass. Free rows bid for their best column; the price v of that column drops by the
  // gap to the second best, and a displaced row is re-processed at once (strict drop) or next pass.
  bool augmentingRowReduction(std::vector<int32_t>& freeRows, LapStats& stats) {
    // Bound the auction: with nearly tied costs the price drops can be tiny and the bidding long;
    // the rows still free when the bound is hit go to the exact shortest-path phase.
    // Measured on the sae family (n = 4096): caps of n/4, n, 2n, 4n scans per pass gave 0.16, 0.15,
    // 0.12, 0.11 s in total; a scan here is cheaper than a Dijkstra step that would replace it.
    const int64_t maxScans = 4 * nr_ + 1024;
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

  // Phase 4: Dijkstra from free row f over reduced costs c'_ij - v_j, then update v on the scanned
  // columns and flip the path. Returns false when no free column is reachable (infeasible).
  bool augment(int32_t f, std::vector<double>& d, std::vector<int32_t>& pred,
               std::vector<std::pair<int32_t, double>>& scanned, LapStats& stats) {
    std::fill(d.begin(), d.end(), kInf);
    scanned.clear();
    MinAt a, u;
    relax(f, 0.0, d.data(), pred.data(), a, u);
    int32_t sink;
    double dmin;
    for (;;) {
      if (u.index >= 0 && u.value <= a.value) {  // prefer a free column on ties: shorter path
        sink = static_cast<int32_t>(u.index);
        dmin = u.value;
        break;
      }
      if (a.index < 0) return false;
      int32_t j = static_cast<int32_t>(a.index);
      dmin = a.value;
      scanned.emplace_back(j, dmin);
      d[j] = std::numeric_limits<double>::quiet_NaN();
      int32_t i = y_[j];
      double h = (at(i, j) - v_[j]) - dmin;
      a = MinAt{};
      u = MinAt{};
      relax(i, h, d.data(), pred.data(), a, u);
      ++stats.dijkstra_steps;
    }
    for (auto [j, dj] : scanned) v_[j] += dj - dmin;
    for (int32_t j = sink;;) {
      int32_t i = pred[j];
      y_[j] = i;
      int32_t next = x_[i];
      x_[i] = j;
      if (i == f) break;
      j = next;
    }
    return true;
  }

  const T* c_;
  int64_t nr_, nc_;
  const std::atomic<bool>* cancel_;
  std::vector<int32_t> x_, y_;
  std::vector<double> v_;
  bool avx2_ = false;
  Team* team_ = nullptr;
};

template <typename T, bool NEG>
LapResult solveOriented(const T* cost, int64_t n_rows, int64_t n_cols,
                        const std::atomic<bool>* cancel) {
  if (n_rows <= n_cols) return JonkerVolgenant<T, NEG>(cost, n_rows, n_cols, cancel).run();
  // Tall matrix: solve the transpose (the algorithm fully assigns the rows) and swap the roles back.
  // This is the one case that copies the matrix.
  std::vector<T> t(static_cast<size_t>(n_rows) * n_cols);
  for (int64_t i = 0; i < n_rows; ++i)
    for (int64_t j = 0; j < n_cols; ++j) t[j * n_rows + i] = cost[i * n_cols + j];
  LapResult r = JonkerVolgenant<T, NEG>(t.data(), n_cols, n_rows, cancel).run();
  std::swap(r.x, r.y);
  std::swap(r.u, r.v);
  return r;
}

}  // namespace

template <typename T>
LapResult solveAssignment(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize,
                          const std::atomic<bool>* cancel) {
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
  LapResult r = maximize ? solveOriented<T, true>(cost, n_rows, n_cols, cancel)
                         : solveOriented<T, false>(cost, n_rows, n_cols, cancel);
  if (maximize) {  // report the duals of the problem as posed: c_ij <= u_i + v_j
    for (double& a : r.u) a = -a;
    for (double& a : r.v) a = -a;
  }
  return r;
}

WarmStart parallelInitReference(const float* cost, int64_t n, int rounds, const std::atomic<bool>* cancel) {
  if (n <= 0 || n > std::numeric_limits<int32_t>::max()) throw InputError("parallel init: n must be in [1, 2^31-1]");
  return JonkerVolgenant<float, false>(cost, n, n, cancel).parallelInit(rounds);
}

LapResult solveWithParallelInit(const float* cost, int64_t n, int rounds, const std::atomic<bool>* cancel) {
  WarmStart ws = parallelInitReference(cost, n, rounds, cancel);
  if (ws.infeasible) return LapResult{};
  return JonkerVolgenant<float, false>(cost, n, n, cancel).runFromInit(std::move(ws));
}

LapResult solveFromWarmStart(const float* cost, int64_t n, WarmStart ws, const std::atomic<bool>* cancel) {
  if (n <= 0 || n > std::numeric_limits<int32_t>::max()) throw InputError("warm start: n must be in [1, 2^31-1]");
  return JonkerVolgenant<float, false>(cost, n, n, cancel).runWarm(std::move(ws));
}

template <typename T>
Certificate checkCertificate(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize,
                             const int32_t* x, const double* u, const double* v, double tol) {
  Certificate cert;
  const double s = maximize ? -1.0 : 1.0;
  // 1. x is a one-to-one matching of the smaller side that uses no forbidden pair.
  std::vector<int32_t> y(n_cols, -1);
  int64_t assigned = 0;
  cert.assignment_valid = true;
  for (int64_t i = 0; i < n_rows && cert.assignment_valid; ++i) {
    int32_t j = x[i];
    if (j < 0) continue;
    if (j >= n_cols) {
      cert.assignment_valid = false;
      cert.message = "row " + std::to_string(i) + " is assigned to column " + std::to_string(j) +
                     ", outside the matrix";
    } else if (y[j] >= 0) {
      cert.assignment_valid = false;
      cert.message = "column " + std::to_string(j) + " is assigned to rows " +
                     std::to_string(y[j]) + " and " + std::to_string(i);
    } else if (!std::isfinite(s * static_cast<double>(cost[i * n_cols + j]))) {
      cert.assignment_valid = false;
      cert.message = "row " + std::to_string(i) + " uses the forbidden pair (" + std::to_string(i) +
                     ", " + std::to_string(j) + ")";
    } else {
      y[j] = static_cast<int32_t>(i);
      ++assigned;
    }
  }
  if (cert.assignment_valid && assigned != std::min(n_rows, n_cols)) {
    cert.assignment_valid = false;
    cert.message = "only " + std::to_string(assigned) + " of " +
                   std::to_string(std::min(n_rows, n_cols)) + " rows/columns are assigned";
  }
  // A NaN dual would slip through every comparison below (NaN compares false), so non-finite duals
  // are a violation on their own.
  bool dualsFinite = true;
  for (int64_t i = 0; i < n_rows && dualsFinite; ++i) dualsFinite = std::isfinite(u[i]);
  for (int64_t j = 0; j < n_cols && dualsFinite; ++j) dualsFinite = std::isfinite(v[j]);
  // 2. Reduced costs r_ij = c'_ij - u'_i - v'_j of the minimisation c' = s c (duals u' = s u).
  // One pass over the matrix, rows split over all cores (each part's minima and maxima, then merged).
  struct Part {
    double scale = 0, minR = kInf, gap = 0;
  };
  const int threads = std::max(1, hardwareThreads());
  std::vector<Part> parts(threads);
  parallelFor(n_rows, threads, 64, [&](int64_t b, int64_t e, int t) {
    Part p;
    for (int64_t i = b; i < e; ++i) {
      const T* rw = cost + i * n_cols;
      const double ui = u[i];
      double mn = kInf, sc = 0;
      for (int64_t j = 0; j < n_cols; ++j) {
        double c = static_cast<double>(rw[j]);
        double r = s * (c - ui - v[j]);  // +inf for forbidden pairs: never the minimum
        mn = r < mn ? r : mn;
        double a = std::fabs(c);
        sc = (a > sc && a < kInf) ? a : sc;
      }
      p.minR = std::min(p.minR, mn);
      p.scale = std::max(p.scale, sc);
      if (x[i] >= 0 && x[i] < n_cols)
        p.gap = std::max(p.gap, std::fabs(s * (static_cast<double>(rw[x[i]]) - ui - v[x[i]])));
    }
    parts[t] = p;
  });
  double scale = 0, minR = kInf, gap = 0;
  for (const Part& p : parts) {
    minR = std::min(minR, p.minR);
    scale = std::max(scale, p.scale);
    gap = std::max(gap, p.gap);
  }
  // 3. Rectangular: the longer side's unassigned duals (in c' terms) must be equal and maximal.
  double rect = 0;
  auto sideCondition = [&](const double* w, int64_t n, auto isAssigned) {
    double maxAll = -kInf, minFree = kInf, maxFree = -kInf;
    for (int64_t k = 0; k < n; ++k) {
      double wk = s * w[k];
      maxAll = std::max(maxAll, wk);
      if (!isAssigned(k)) minFree = std::min(minFree, wk), maxFree = std::max(maxFree, wk);
    }
    if (minFree < kInf) rect = std::max({rect, maxFree - minFree, maxAll - minFree});
  };
  if (n_rows < n_cols) sideCondition(v, n_cols, [&](int64_t j) { return y[j] >= 0; });
  if (n_rows > n_cols) sideCondition(u, n_rows, [&](int64_t i) { return x[i] >= 0; });

  cert.min_reduced_cost = minR == kInf ? 0 : minR;
  cert.max_assigned_gap = gap;
  cert.tolerance = tol > 0 ? tol : 1e-9 * (1.0 + scale);
  cert.max_violation = std::max({0.0, -cert.min_reduced_cost, gap, rect});
  if (!dualsFinite || std::isnan(cert.max_violation) || std::isnan(minR)) {
    cert.max_violation = kInf;
    if (!dualsFinite && cert.message.empty()) cert.message = "a dual variable is NaN or infinite";
  }
  cert.ok = cert.assignment_valid && cert.max_violation <= cert.tolerance;
  if (cert.message.empty() && !cert.ok)
    cert.message = "dual certificate violated by " + std::to_string(cert.max_violation) +
                   " (tolerance " + std::to_string(cert.tolerance) + ")";
  return cert;
}

template LapResult solveAssignment<float>(const float*, int64_t, int64_t, bool,
                                          const std::atomic<bool>*);
template LapResult solveAssignment<double>(const double*, int64_t, int64_t, bool,
                                           const std::atomic<bool>*);
template Certificate checkCertificate<float>(const float*, int64_t, int64_t, bool, const int32_t*,
                                             const double*, const double*, double);
template Certificate checkCertificate<double>(const double*, int64_t, int64_t, bool,
                                              const int32_t*, const double*, const double*, double);

}  // namespace saematch
