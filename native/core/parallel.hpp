// A tiny fork-join helper: the native library has exactly two kinds of parallel work (GEMM row
// panels and cost-matrix fix-up passes), both static partitions of [0, n), so a pool buys nothing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace saematch {

int hardwareThreads();

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
