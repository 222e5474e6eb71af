// The CUDA side of matching a pair (native/cuda/solver.cu): the cost matrix on the device, JV's
// initialisation phases in data-parallel form on the device, and the hand-over to the host.
//
// Design (why a CPU/GPU hybrid): the cost matrix is one large GEMM and the initialisation phases are
// wide, independent scans, which is what a GPU is for; the shortest augmenting paths that remain are
// sequential Dijkstra steps whose per-step launch and synchronisation latency dominates on a GPU
// (REFERENCE.md §3). So the device computes the matrix and runs column reduction, reduction transfer
// and many Jacobi rounds of augmenting row reduction (each a few microseconds of launches, no host
// decision inside a round); measured on the host reference (test/warmstart.test.ts, lap.hpp), 512
// rounds leave 6 of 4096 rows of an SAE-like matrix and 22 of 4096 uniform ones for phase 4. The
// matrix and the warm start then go to the host, whose JV phase 4 (solveFromWarmStart) finishes
// exactly and checks the warm start rather than trusting it.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/lap.hpp"

namespace saematch::cuda {

// A CUDA failure (out of memory, launch error, no device): an internal error, or under --device auto
// the reason to fall back to the CPU.
using CudaError = DeviceError;

struct GpuTimings {
  double upload = 0, norms = 0, gemm = 0, init = 0, download = 0, total = 0;  // seconds
};

struct GpuPairResult {
  GpuTimings timings;
  bool have_warm_start = false;  // square matrices with rounds >= 0
  WarmStart warm;                // x, y, v and stats (free rows after each phase, rounds)
  std::string device;            // e.g. "NVIDIA H100 80GB HBM3 (sm_90)"
};

// a: n_a x k, b: n_b x k row-major float32 on the host. Computes the cost matrix on device `device`
// (metric 0: squared Euclidean, clamped at 0; 1: cosine distance 1 - a.b/(|a||b|), a zero vector has
// cosine 0 with everything), as the CPU path defines it (norms in float64, products in float32), and
// copies it into `out` (n_a x n_b, host). With rounds >= 0 and n_a == n_b it also runs JV phases 1-3
// on the device (see parallelInitReference in lap.hpp for the exact rules) and returns the warm start.
// NaN or -inf in the matrix is an InputError. `cancel` is polled between phases and rounds.
GpuPairResult matchPairDevice(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                              int metric, int rounds, int device, float* out,
                              const std::atomic<bool>* cancel);

// JV phases 1-3 on the device for a host matrix (square, minimise): uploads `cost` and returns the
// warm start. This is how the GPU solver is tested on every benchmark family, not only on features.
GpuPairResult initMatrixDevice(const float* cost, int64_t n, int rounds, int device,
                               const std::atomic<bool>* cancel);

}  // namespace saematch::cuda
