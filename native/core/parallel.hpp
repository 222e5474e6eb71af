// A fork-join helper that never waits for a thread to be scheduled. The native library's parallel
// passes (cost-matrix norms and fix-ups, the built-in GEMM's row ranges, the data-parallel JV
// initialisation, the warm-start check, the dual certificate, evaluation, folding, file reads, top-k)
// each split [0, n) into `parts` contiguous parts. The parts are not bound to threads: the caller and
// the workers it starts claim them with one atomic counter, and the caller takes part in the work. So
// on a machine whose other cores are busy (a browser, another job, vitest's own workers) a worker
// that is not scheduled simply claims nothing, the caller does its parts, and the pass is never slower
// than one thread; it waits only for parts another thread has already started (bounded by that part's
// own work, never by a scheduler time slice). The worker's state is shared, so a worker scheduled
// after the pass ended finds nothing to claim and exits without touching the caller's frame. The
// one thread that waits for work instead is phase 4's helper (lap/relax_team.hpp): its steps are too
// short for a thread start each, and it has its own take-over.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "threads.hpp"

namespace saematch {

// The threads a parallel pass uses by default: what this process was given (threads.hpp), or what
// setThreadLimit chose (`--threads`).
inline int hardwareThreads() { return threadLimit(); }

// What the passes did since the process started, for tests (counters, never times) and `--json`.
struct ParallelCounters {
  std::atomic<int64_t> passes{0};          // parallelFor calls that started workers
  std::atomic<int64_t> parts_by_caller{0};  // parts the calling thread ran itself
  std::atomic<int64_t> parts_by_workers{0};
  std::atomic<int64_t> workers_idle{0};      // workers that found every part claimed
  std::atomic<int64_t> spawn_failures{0};    // thread starts refused (EAGAIN): the caller did the work
  // Test seam: each worker sleeps this long before claiming, as a descheduled thread would.
  std::atomic<int64_t> test_worker_delay_us{0};
};
inline ParallelCounters& parallelCounters() {
  static ParallelCounters c;
  return c;
}

namespace detail {
struct ForkJoin {
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  int64_t parts = 0;
  std::function<void(int64_t)> run;  // runs one part; only called after a successful claim
  std::mutex m;
  std::condition_variable cv;
  std::exception_ptr error;

  // Claims and runs parts until none is left. Returns how many this thread ran.
  int64_t work() {
    int64_t ran = 0;
    for (int64_t p; (p = next.fetch_add(1, std::memory_order_relaxed)) < parts; ++ran) {
      try {
        run(p);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
      }
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == parts) {
        std::lock_guard<std::mutex> lock(m);
        cv.notify_all();
      }
    }
    return ran;
  }
};
}  // namespace detail

// Parts per thread: a thread that loses its CPU mid-pass holds up the pass by at most the part it
// is in, while the others claim the rest. With 2 threads, one of them at half speed beside a busy
// process, one part per thread makes the pass as slow as one thread; 4 parts each bring it to
// about 2/3 of that.
constexpr int kPartsPerThread = 4;

// How many parts parallelFor(n, threads, grain, ...) splits into: per-part buffers are sized by it.
inline int parallelParts(int64_t n, int threads, int64_t grain) {
  if (n <= 0) return 0;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (n + grain - 1) / grain;
  const int64_t want = threads <= 1 ? 1 : int64_t{threads} * kPartsPerThread;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(want, chunks)));
}

// Runs fn(begin, end, part) over parallelParts(n, threads, grain) contiguous parts of [0, n), part
// edges rounded to `grain`, part = 0, 1, ... in order of position (callers keep per-part buffers and
// merge them in part order). At most `threads` threads run them, the caller among them; which thread
// runs a part is not fixed. Exceptions from any part are rethrown in the caller.
template <typename Fn>
void parallelFor(int64_t n, int threads, int64_t grain, Fn fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t chunks = (n + grain - 1) / grain;
  const int parts = parallelParts(n, threads, grain);
  const int workers = std::min(parts, std::max(threads, 1));
  if (parts == 1) {
    fn(int64_t{0}, n, 0);
    return;
  }
  ParallelCounters& counters = parallelCounters();
  auto state = std::make_shared<detail::ForkJoin>();
  state->parts = parts;
  state->run = [&fn, n, chunks, grain, parts](int64_t p) {
    const int64_t b = std::min(n, (chunks * p / parts) * grain);
    const int64_t e = std::min(n, (chunks * (p + 1) / parts) * grain);
    fn(b, e, static_cast<int>(p));
  };
  counters.passes.fetch_add(1, std::memory_order_relaxed);
  const int64_t delay = counters.test_worker_delay_us.load(std::memory_order_relaxed);
  for (int w = 1; w < workers; ++w) {
    try {
      std::thread([state, delay] {
        if (delay > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay));
        const int64_t ran = state->work();
        ParallelCounters& c = parallelCounters();
        if (ran) c.parts_by_workers.fetch_add(ran, std::memory_order_relaxed);
        else c.workers_idle.fetch_add(1, std::memory_order_relaxed);
      }).detach();
    } catch (const std::system_error&) {
      counters.spawn_failures.fetch_add(1, std::memory_order_relaxed);
      break;  // no more threads: the caller claims what the missing workers would have
    }
  }
  counters.parts_by_caller.fetch_add(state->work(), std::memory_order_relaxed);
  // Every part is claimed; wait for the ones other threads are running (a short spin, then sleep).
  for (int spin = 0; spin < 256 && state->done.load(std::memory_order_acquire) < parts; ++spin) std::this_thread::yield();
  if (state->done.load(std::memory_order_acquire) < parts) {
    std::unique_lock<std::mutex> lock(state->m);
    state->cv.wait(lock, [&] { return state->done.load(std::memory_order_acquire) == parts; });
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(state->m);
    error = state->error;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace saematch
