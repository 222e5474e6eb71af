// Phase 4's relaxation split over two threads. Phase 4 spends its time in relaxations over all n
// columns, many of them per augmentation on rows without a partner, while the rest of the solver is
// sequential and the second core idle. A helper thread offers to take the upper half of the columns
// of every step. Neither thread ever waits for the other to be scheduled:
//   - the upper half of step g goes to whoever claims it first (an atomic compare-and-swap). The
//     solver claims it itself once its own half is done, so a helper that is descheduled (another
//     process on the core, a 1-CPU cpuset) costs a step nothing but its half of the speed-up;
//   - the solver waits only for a half the helper has claimed, i.e. is computing, and yields the CPU
//     while it waits, in case they share one; when such waits add up to a tenth of phase 4's time
//     (the helper keeps losing its CPU mid-step), the rest of phase 4 runs on the solver's thread;
//   - an idle helper spins briefly (a futex wake-up would cost as much as a step), then parks on a
//     condition variable until the next step or the end.
// Ties between the halves go to the lower column, as in one sequential scan, so the split does not
// change the result whoever computes which half.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
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
    team_.stop.store(true, std::memory_order_seq_cst);
    wakeHelper();
    team_.thread.join();
  }
  RelaxTeam(const RelaxTeam&) = delete;
  RelaxTeam& operator=(const RelaxTeam&) = delete;

  // Relaxations whose upper half the helper computed, and those whose upper half the solver did
  // itself (the helper had not claimed it, or phase 4 went on alone): both 0 without a helper.
  // Exact after relax() returns.
  int64_t helperSteps() const { return team_.steps; }
  int64_t stepsTakenOver() const { return taken_over_; }

  // One Dijkstra step's relaxation from row i over all columns, split with the helper when there is one.
  void relax(int64_t i, double h, double* d, int32_t* pred, kernels::MinAt& a, kernels::MinAt& u) {
    if (!active_) return solver_.relaxRange(i, h, d, pred, 0, nc_, a, u);
    ++steps_;
    if (solo_) {  // the helper kept being descheduled mid-step: the rest of phase 4 runs here alone
      solver_.relaxRange(i, h, d, pred, 0, nc_, a, u);
      ++taken_over_;
      return;
    }
    team_.job = {i, h, d, pred};
    const uint64_t g = team_.gen.fetch_add(1, std::memory_order_seq_cst) + 1;
    if (team_.sleeping.load(std::memory_order_seq_cst)) wakeHelper();
    solver_.relaxRange(i, h, d, pred, 0, team_.split, a, u);
    kernels::MinAt ua, uu;
    uint64_t expected = g - 1;
    if (team_.claim.compare_exchange_strong(expected, g, std::memory_order_acq_rel)) {
      // The helper has not started this step: do its half here rather than wait for it.
      solver_.relaxRange(i, h, d, pred, team_.split, nc_, ua, uu);
      // A helper that misses most steps is not getting a CPU: waking it each step would only take
      // CPU time from this thread, so the rest of phase 4 runs here alone.
      if (++taken_over_ >= kTakeOversBeforeSolo && taken_over_ * 2 > steps_) solo_ = true;
    } else {
      // The helper claimed it and is computing it: wait for that, giving it the CPU if we share one.
      bool longWait = false;
      std::chrono::steady_clock::time_point waitStart;
      for (int spins = 0; team_.done.load(std::memory_order_acquire) != g; ++spins) {
        if (spins >= kSpinsBeforeYield) {
          if (!longWait) longWait = true, waitStart = std::chrono::steady_clock::now();
          std::this_thread::yield();
        } else {
          cpuRelax();
        }
      }
      // A half that takes far longer than ours means the helper lost its CPU mid-step (another
      // process shares the cores), and each such wait is a scheduler time slice, milliseconds, where
      // a step is microseconds. So the time lost is what counts, not how often: once the long waits
      // add up to more than a tenth of phase 4 so far, the rest of phase 4 runs here alone.
      if (longWait) {
        const auto now = std::chrono::steady_clock::now();
        waited_ += now - waitStart;
        if (waited_ > kWaitBeforeSolo && waited_ * kWaitShare > now - start_) solo_ = true;
      }
      ua = team_.a;
      uu = team_.u;
    }
    if (ua.value < a.value) a = ua;
    if (uu.value < u.value) u = uu;
  }

 private:
  // Spins of a waiting thread before it yields the CPU (the solver) or parks (the idle helper): about
  // the length of one relaxation, so a running partner is never slowed by a system call.
  static constexpr int kSpinsBeforeYield = 1 << 12;
  static constexpr int kSpinsBeforePark = 1 << 14;
  // Phase 4 goes on without the helper once the solver's long waits for it (past kSpinsBeforeYield)
  // add up to more than kWaitBeforeSolo and to more than 1/kWaitShare of phase 4's time so far.
  static constexpr std::chrono::microseconds kWaitBeforeSolo{500};
  static constexpr int kWaitShare = 10;
  // ... or once at least this many steps were taken over and they are more than half of all.
  static constexpr int64_t kTakeOversBeforeSolo = 64;

  void wakeHelper() {
    std::lock_guard<std::mutex> lock(team_.m);
    team_.cv.notify_one();
  }

  void work() {
    uint64_t seen = 0;
    for (;;) {
      uint64_t g;
      for (int spins = 0; (g = team_.gen.load(std::memory_order_seq_cst)) == seen; ++spins) {
        if (team_.stop.load(std::memory_order_seq_cst)) return;
        if (spins < kSpinsBeforePark) {
          cpuRelax();
          continue;
        }
        // Park until the solver posts a step or stops. `sleeping` is set before gen is read again
        // (both sequentially consistent), so a step posted meanwhile is either seen here or seen
        // as a sleeping helper by the solver, which then notifies under the mutex.
        std::unique_lock<std::mutex> lock(team_.m);
        team_.sleeping.store(true, std::memory_order_seq_cst);
        team_.cv.wait(lock, [&] {
          return team_.gen.load(std::memory_order_seq_cst) != seen || team_.stop.load(std::memory_order_seq_cst);
        });
        team_.sleeping.store(false, std::memory_order_seq_cst);
        spins = 0;
      }
      seen = g;
      // Claim step g's upper half; if the solver already took it over, wait for the next step.
      uint64_t expected = g - 1;
      if (!team_.claim.compare_exchange_strong(expected, g, std::memory_order_acq_rel)) continue;
      kernels::MinAt a, u;
      const auto& j = team_.job;
      solver_.relaxRange(j.i, j.h, j.d, j.pred, team_.split, nc_, a, u);
      team_.a = a;
      team_.u = u;
      ++team_.steps;
      team_.done.store(g, std::memory_order_release);
    }
  }

  // What the two threads share: the step posted (job, gen), who computes its upper half (claim: the
  // last step claimed), its completion by the helper (done) with the helper's minima over its half,
  // and the helper's parking place.
  struct Team {
    struct Job {
      int64_t i;
      double h;
      double* d;
      int32_t* pred;
    } job{};
    std::atomic<uint64_t> gen{0}, claim{0}, done{0};
    std::atomic<bool> stop{false}, sleeping{false};
    std::mutex m;
    std::condition_variable cv;
    int64_t split = 0;
    kernels::MinAt a, u;
    int64_t steps = 0;  // written by the helper before `done`, read by the solver after it
    std::thread thread;
  };

  const Solver& solver_;
  const int64_t nc_;
  bool active_ = false;
  int64_t taken_over_ = 0;
  int64_t steps_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration waited_{0};
  bool solo_ = false;
  Team team_;
};

}  // namespace saematch::detail
