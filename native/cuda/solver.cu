// The CUDA solver's host side (design: gpu.hpp): device memory, the kernels in pipeline order (cost
// matrix, JV phases 1-3, phase 4; kernels.hpp) and the copies back. Every kernel has a host twin that
// defines it: the cost epilogue is native/core/cost/cost.cpp's, phases 1-3 are parallelInitReference
// (native/core/lap/parallel_init.cpp), phase 4 is native/core/lap/augment.cpp. scripts/gpu/gpu-check.sh
// compares the two on a GPU machine.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <limits>

#include "device.hpp"
#include "gpu.hpp"
#include "kernels.hpp"

namespace saematch::cuda {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Device memory owned for the duration of one call (freed on every exit path).
template <typename T>
struct DeviceArray {
  T* p = nullptr;
  size_t n = 0;
  DeviceArray(size_t count, const char* what) : n(count) {
    if (count) check(cudaMalloc(&p, count * sizeof(T)), what);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (p) cudaFree(p);
  }
};

void checkCancel(const std::atomic<bool>* cancel) {
  if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
}

// Makes `device` current for this thread and names it, e.g. "NVIDIA H100 80GB HBM3 (sm_90)".
std::string useDevice(int device) {
  check(cudaSetDevice(device), "cudaSetDevice");
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
  return std::string(prop.name) + " (sm_" + std::to_string(prop.major) + std::to_string(prop.minor) + ")";
}

// JV on the device matrix C (n x n), into ws: phases 1-3 (see parallelInitReference in lap.hpp) and,
// with `phase4`, phase 4.
void initOnDevice(const float* C, int64_t n, int rounds, bool phase4, const std::atomic<bool>* cancel,
                  WarmStart& ws) {
  const int64_t segs = (n + kSegRows - 1) / kSegRows;
  DeviceArray<float> pmin(static_cast<size_t>(segs * n), "cudaMalloc(column minima)");
  DeviceArray<int32_t> parg(static_cast<size_t>(segs * n), "cudaMalloc(column minima)");
  DeviceArray<double> v(n, "cudaMalloc(v)"), drop(n, "cudaMalloc(drop)"), dec(n, "cudaMalloc(dec)");
  DeviceArray<int32_t> x(n, "cudaMalloc(x)"), y(n, "cudaMalloc(y)"), matches(n, "cudaMalloc(matches)");
  DeviceArray<int32_t> target(n, "cudaMalloc(target)"), winner(n, "cudaMalloc(winner)"), freeRows(n, "cudaMalloc(free rows)");
  DeviceArray<unsigned long long> keep(n, "cudaMalloc(keep)");
  DeviceArray<int> flags(2, "cudaMalloc(flags)");
  DeviceArray<int32_t> count(1, "cudaMalloc(count)");
  check(cudaMemset(flags.p, 0, 2 * sizeof(int)), "memset");
  check(cudaMemset(matches.p, 0, n * sizeof(int32_t)), "memset");
  launchFillInt(y.p, n, -1);
  launchFillInt(winner.p, n, INT_MAX);
  launchFillInt(target.p, n, -1);
  launchFillU64(keep.p, n, ~0ull);
  checkLaunch("fill");
  // Phase 1.
  launchColumnMinPartial(C, n, segs, pmin.p, parg.p, flags.p);
  checkLaunch("columnMinPartial");
  launchColumnMinFinal(pmin.p, parg.p, n, segs, v.p, matches.p, keep.p, flags.p + 1);
  checkLaunch("columnMinFinal");
  int h[2];
  check(cudaMemcpy(h, flags.p, sizeof(h), cudaMemcpyDeviceToHost), "flags");
  if (h[0]) throw InputError("cost matrix contains invalid numeric entries (NaN or -Infinity)");
  if (h[1]) {  // a column with no allowed row
    ws.infeasible = true;
    return;
  }
  {
    launchAssignKept(keep.p, matches.p, n, x.p, y.p);
    checkLaunch("assignKept");
    // Phase 2.
    check(cudaMemset(drop.p, 0, n * sizeof(double)), "memset");
    launchTransfer(C, n, v.p, matches.p, x.p, drop.p);
    checkLaunch("transferKernel");
    launchApplyTransfer(matches.p, x.p, drop.p, n, v.p);
    checkLaunch("applyTransfer");
    auto collect = [&]() {
      check(cudaMemset(count.p, 0, sizeof(int32_t)), "memset");
      launchCollectFree(x.p, n, freeRows.p, count.p);
      checkLaunch("collectFree");
      int32_t c = 0;
      check(cudaMemcpy(&c, count.p, sizeof(c), cudaMemcpyDeviceToHost), "free count");
      return c;
    };
    int32_t nfree = collect();
    ws.stats.free_after_column_reduction = nfree;
    // Phase 3: Jacobi rounds; the host reads one integer per round (the free count).
    int round = 0, best = nfree, lastGain = 0;
    for (; round < rounds && nfree > 0; ++round) {
      if (round - lastGain >= kArrStallRounds) break;  // the host reference's stall rule (lap.hpp)
      checkCancel(cancel);
      launchBid(C, n, v.p, y.p, freeRows.p, nfree, target.p, dec.p, winner.p, flags.p + 1);
      checkLaunch("bidKernel");
      launchApplyBids(freeRows.p, nfree, target.p, dec.p, winner.p, x.p, y.p, v.p);
      checkLaunch("applyBids");
      launchResetWinners(freeRows.p, nfree, target.p, winner.p);
      checkLaunch("resetWinners");
      nfree = collect();
      if (nfree < best) {
        best = nfree;
        lastGain = round + 1;
      }
    }
    check(cudaMemcpy(h, flags.p, sizeof(h), cudaMemcpyDeviceToHost), "flags");
    ws.infeasible = h[1] != 0;  // a row with no allowed column
    ws.stats.parallel_rounds = round;
    ws.stats.free_after_arr = nfree;
    auto download = [&](WarmStart& w) {
      w.x.resize(n);
      w.y.resize(n);
      w.v.resize(n);
      check(cudaMemcpy(w.x.data(), x.p, n * sizeof(int32_t), cudaMemcpyDeviceToHost), "download x");
      check(cudaMemcpy(w.y.data(), y.p, n * sizeof(int32_t), cudaMemcpyDeviceToHost), "download y");
      check(cudaMemcpy(w.v.data(), v.p, n * sizeof(double), cudaMemcpyDeviceToHost), "download v");
    };
    download(ws);
    // Phase 4 on the device (unless it is left to the host). The state before it is kept: if the
    // device's result is not one assignment, that state goes to the host instead.
    if (!ws.infeasible && nfree > 0 && phase4) {
      checkCancel(cancel);
      DeviceArray<double> d(n, "cudaMalloc(d)"), sdist(n, "cudaMalloc(scanned)");
      DeviceArray<int32_t> pred(n, "cudaMalloc(pred)"), scol(n, "cudaMalloc(scanned)");
      DeviceArray<unsigned long long> status(2, "cudaMalloc(status)");
      check(cudaMemset(status.p, 0, 2 * sizeof(unsigned long long)), "memset");
      const auto t4 = Clock::now();
      launchAugment(C, n, v.p, x.p, y.p, d.p, pred.p, scol.p, sdist.p, freeRows.p, nfree, status.p);
      checkLaunch("augmentKernel");
      unsigned long long st[2];
      check(cudaMemcpy(st, status.p, sizeof(st), cudaMemcpyDeviceToHost), "phase 4 status");
      const double seconds = since(t4);
      if (st[0] == 1) {
        ws.infeasible = true;
        return;
      }
      WarmStart done;
      download(done);
      bool consistent = true;
      for (int64_t i = 0; i < n && consistent; ++i)
        consistent = done.x[i] >= 0 && done.x[i] < n && done.y[done.x[i]] == i && std::isfinite(done.v[done.x[i]]);
      if (consistent) {
        ws.x = std::move(done.x);
        ws.y = std::move(done.y);
        ws.v = std::move(done.v);
        ws.stats.augmentations = nfree;
        ws.stats.dijkstra_steps = static_cast<int64_t>(st[1]);
        ws.stats.seconds_augment = seconds;  // free_after_arr stays: the rows phase 4 started from
      }
    }
  }
}

}  // namespace

GpuPairResult matchPairDevice(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                              int metric, int rounds, int device, const DeviceOptions& options,
                              float* out, const std::atomic<bool>* cancel) {
  if (n_a <= 0 || n_b <= 0 || k <= 0) throw InputError("cuda: empty feature matrices");
  if (std::max(n_a, n_b) > INT_MAX / 2) throw InputError("cuda: more than 2^30 features");
  if (static_cast<int64_t>(std::max(n_a, n_b) + kCostTile - 1) / kCostTile > 65535) throw InputError("cuda: too many features for one launch grid");
  GpuPairResult res;
  const auto t0 = Clock::now();
  res.device = useDevice(device);

  auto t = Clock::now();
  DeviceArray<float> dA(static_cast<size_t>(n_a * k), "cudaMalloc(features a)");
  DeviceArray<float> dB(static_cast<size_t>(n_b * k), "cudaMalloc(features b)");
  DeviceArray<float> dC(static_cast<size_t>(n_a * n_b), "cudaMalloc(cost matrix)");
  DeviceArray<double> nA(static_cast<size_t>(n_a), "cudaMalloc(norms)"), nB(static_cast<size_t>(n_b), "cudaMalloc(norms)");
  check(cudaMemcpy(dA.p, a, sizeof(float) * n_a * k, cudaMemcpyHostToDevice), "upload a");
  check(cudaMemcpy(dB.p, b, sizeof(float) * n_b * k, cudaMemcpyHostToDevice), "upload b");
  res.timings.upload = since(t);

  t = Clock::now();
  const int cosine = metric == 1;
  launchSqNorms(dA.p, n_a, k, nA.p, cosine);
  checkLaunch("sqNormsKernel");
  launchSqNorms(dB.p, n_b, k, nB.p, cosine);
  checkLaunch("sqNormsKernel");
  check(cudaDeviceSynchronize(), "norms");
  res.timings.norms = since(t);
  checkCancel(cancel);

  t = Clock::now();
  launchCostMatrix(options.cost_kernel == CostKernel::Simple, dA.p, dB.p, n_a, n_b, k, nA.p, nB.p, cosine, dC.p);
  checkLaunch("costKernel");
  check(cudaDeviceSynchronize(), "cost matrix");
  res.timings.gemm = since(t);
  checkCancel(cancel);

  if (rounds >= 0 && n_a == n_b) {
    t = Clock::now();
    initOnDevice(dC.p, n_a, rounds, options.phase4, cancel, res.warm);
    res.have_warm_start = true;
    res.timings.init = since(t);
    res.warm.stats.seconds_init = res.timings.init;
  }

  t = Clock::now();
  check(cudaMemcpy(out, dC.p, sizeof(float) * n_a * n_b, cudaMemcpyDeviceToHost), "download cost matrix");
  res.timings.download = since(t);
  res.timings.total = since(t0);
  return res;
}

GpuPairResult initMatrixDevice(const float* cost, int64_t n, int rounds, int device,
                               const DeviceOptions& options, const std::atomic<bool>* cancel) {
  if (n <= 0 || n > INT_MAX / 2) throw InputError("cuda: n must be in [1, 2^30]");
  GpuPairResult res;
  const auto t0 = Clock::now();
  res.device = useDevice(device);
  auto t = Clock::now();
  DeviceArray<float> dC(static_cast<size_t>(n * n), "cudaMalloc(cost matrix)");
  check(cudaMemcpy(dC.p, cost, sizeof(float) * n * n, cudaMemcpyHostToDevice), "upload cost matrix");
  res.timings.upload = since(t);
  t = Clock::now();
  initOnDevice(dC.p, n, std::max(rounds, 0), options.phase4, cancel, res.warm);
  res.have_warm_start = true;
  res.timings.init = since(t);
  res.warm.stats.seconds_init = res.timings.init;
  res.timings.total = since(t0);
  return res;
}

}  // namespace saematch::cuda
