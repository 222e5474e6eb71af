// The CUDA side of matching a pair: the cost matrix on the device, all four JV phases on the device
// (1-3 in data-parallel form, then the shortest augmenting paths), and the hand-over to the host.
// In pipeline order: cost_kernels.cu, init_kernels.cu (phases 1-3), augment_kernel.cu (phase 4),
// with the host code that runs them in solver.cu (kernels.hpp between them); device_none.cpp stands
// in for all of it in builds without nvcc.
//
// Design: the cost matrix is one large GEMM and JV's initialisation phases are wide, independent
// scans, which is what a GPU is for, so the device computes the matrix and runs column reduction,
// reduction transfer and Jacobi rounds of augmenting row reduction (a few launches each, no host
// decision inside a round). On SAE-like matrices the rounds leave a few dozen of 16k rows for
// phase 4 (counts from the host reference in BENCHMARKS.md, measured with
// scripts/bench/parallel-init-rounds.mjs). Published GPU solvers lose to a CPU JV on exactly that
// sequential tail, because every Dijkstra step is a launch and a synchronisation (REFERENCE.md §3).
// Here the tail runs in ONE resident block that loops over the free rows and their Dijkstra steps
// itself (augmentKernel), with no launch and no host round trip per step. The matrix and the final
// (x, y, v) then go to the host, which checks them like any warm start (solveFromWarmStart: a row
// off its row minimum is freed and augmented there) and computes the dual certificate. A device
// fault can therefore cost time, but never exactness. DeviceOptions::phase4 = false leaves phase 4 to
// the host (the CPU/GPU hybrid), for comparison.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/lap/lap.hpp"

namespace saematch::cuda {

// A CUDA failure (out of memory, launch error, no device): an internal error, or under --device auto
// the reason to fall back to the CPU.
using CudaError = DeviceError;

// How the device runs, never what it finds (src/solve/engine.ts documents each choice for users).
enum class CostKernel { Pipelined, Simple };
struct DeviceOptions {
  bool phase4 = true;                         // false: phase 4 is left to the host
  CostKernel cost_kernel = CostKernel::Pipelined;  // Simple: the reference kernel the other is checked against
};

struct GpuTimings {
  double upload = 0, norms = 0, gemm = 0, init = 0, download = 0, total = 0;  // seconds
};

struct GpuPairResult {
  GpuTimings timings;
  bool have_warm_start = false;  // square matrices with rounds >= 0
  WarmStart warm;                // x, y, v and stats (free rows after phases 1-2 and 3, rounds, and
                                 // the augmentations and Dijkstra steps of the device's phase 4)
  std::string device;            // e.g. "NVIDIA H100 80GB HBM3 (sm_90)"
};

// a: n_a x k, b: n_b x k row-major float32 on the host. Computes the cost matrix on device `device`
// (metric 0: squared Euclidean, clamped at 0; 1: cosine distance 1 - a.b/(|a||b|), a zero vector has
// cosine 0 with everything), as the CPU path defines it (norms in float64, products in float32), and
// copies it into `out` (n_a x n_b, host). With rounds >= 0 and n_a == n_b it also runs JV on the
// device, phases 1-3 (see parallelInitReference in lap.hpp for the exact rules) and then phase 4
// (unless options.phase4 is false), and returns the state it reached as a warm start for the host to
// check. NaN or -inf in the matrix is an InputError. `cancel` is polled between phases and rounds.
GpuPairResult matchPairDevice(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                              int metric, int rounds, int device, const DeviceOptions& options,
                              float* out, const std::atomic<bool>* cancel);

// JV on the device for a host matrix (square, minimise), as matchPairDevice runs it: uploads `cost`
// and returns the warm start. This is how the GPU solver is tested on every benchmark family, not
// only on features.
GpuPairResult initMatrixDevice(const float* cost, int64_t n, int rounds, int device,
                               const DeviceOptions& options, const std::atomic<bool>* cancel);

}  // namespace saematch::cuda
