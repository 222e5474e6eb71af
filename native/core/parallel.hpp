// A tiny fork-join helper. The native library's parallel passes (cost-matrix norms and fix-ups, the
// built-in GEMM's row ranges, the data-parallel JV initialisation, the warm-start check, the dual
// certificate, evaluation, folding, file reads, top-k) are all static partitions of [0, n) into
// independent chunks, so each call starts its threads and joins them, and no pool is kept. The one
// thread that waits for work instead is phase 4's helper (lap/relax_team.hpp): its steps are too
// short for a thread start each.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "threads.hpp"

namespace saematch {

// The threads a parallel pass uses by default: what this process was given (threads.hpp).
inline int hardwareThreads() { return threadBudget().threads; }

// Runs fn(begin, end, threadIndex) over `threads` contiguous chunks of [0, n), chunk edges rounded to
// `grain`. Exceptions from workers are rethrown in the caller.
template <typename Fn>
void parallelFor(int64_t n, int threads, int64_t grain, Fn fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = (n + grain - 1) / grain;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, chunks)));
  if (threads == 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::mutex m;
  for (int t = 0; t < threads; ++t) {
    int64_t b = std::min(n, (chunks * t / threads) * grain);
    int64_t e = std::min(n, (chunks * (t + 1) / threads) * grain);
    pool.emplace_back([&, b, e, t] {
      try {
        fn(b, e, t);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace saematch
