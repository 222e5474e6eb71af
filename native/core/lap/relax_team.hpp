// Phase 4's relaxation split over two threads. Phase 4 spends its time in relaxations over all n
// columns, many of them per augmentation on rows without a partner, while the rest of the solver is
// sequential and the second core idle. A helper thread takes the upper half of the columns of every
// step, woken by a generation counter it spins on (a futex wake-up would cost as much as the work).
// Ties between the halves go to the lower column, as in one sequential scan, so the split does not
// change the result.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "lap_kernels.hpp"
#include "../parallel.hpp"
#include "../simd.hpp"

namespace saematch::detail {

// Solver: anything with JonkerVolgenant's relaxRange(i, h, d, pred, lo, hi, a, u).
template <typename Solver>
class RelaxTeam {
 public:
  // threads: SolverOptions::phase4_threads; 1 keeps phase 4 on one thread (tests compare the two,
  // benchmarks too).
  RelaxTeam(const Solver& solver, int64_t n_cols, size_t free_rows, int threads) : solver_(solver), nc_(n_cols) {
    if (n_cols < 4096 || free_rows < 4 || hardwareThreads() < 2 || threads < 2) return;
    team_.split = (n_cols / 2) & ~int64_t{7};
    team_.thread = std::thread([this] { work(); });
    active_ = true;
  }
  ~RelaxTeam() {
    if (!active_) return;
    team_.stop.store(true, std::memory_order_release);
    team_.thread.join();
  }
  RelaxTeam(const RelaxTeam&) = delete;
  RelaxTeam& operator=(const RelaxTeam&) = delete;

  // Relaxations the helper has finished: every one since the team started when there is a helper, 0
  // otherwise. Exact after relax() returns (the helper's count is published with its `done`).
  int64_t helperSteps() const { return team_.steps; }

  // One Dijkstra step's relaxation from row i over all columns, split with the helper when there is one.
  void relax(int64_t i, double h, double* d, int32_t* pred, kernels::MinAt& a, kernels::MinAt& u) {
    if (!active_) return solver_.relaxRange(i, h, d, pred, 0, nc_, a, u);
    team_.job = {i, h, d, pred};
    const uint64_t g = team_.gen.fetch_add(1, std::memory_order_release) + 1;
    solver_.relaxRange(i, h, d, pred, 0, team_.split, a, u);
    while (team_.done.load(std::memory_order_acquire) != g) cpuRelax();
    if (team_.a.value < a.value) a = team_.a;
    if (team_.u.value < u.value) u = team_.u;
  }

 private:
  void work() {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g;
      for (int spins = 0; (g = team_.gen.load(std::memory_order_acquire)) == seen; ++spins) {
        if (team_.stop.load(std::memory_order_acquire)) return;
        if (spins > (1 << 14)) std::this_thread::yield();  // between augmentations: let others run
        cpuRelax();
      }
      seen = g;
      kernels::MinAt a, u;
      const auto& j = team_.job;
      solver_.relaxRange(j.i, j.h, j.d, j.pred, team_.split, nc_, a, u);
      team_.a = a;
      team_.u = u;
      ++team_.steps;
      team_.done.store(g, std::memory_order_release);
    }
  }

  // What the two threads share: the step posted (job, gen), its completion (done) and the helper's
  // minima over its half.
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
    kernels::MinAt a, u;
    int64_t steps = 0;  // written by the helper before `done`, read by the solver after it
    std::thread thread;
  };

  const Solver& solver_;
  const int64_t nc_;
  bool active_ = false;
  Team team_;
};

}  // namespace saematch::detail
