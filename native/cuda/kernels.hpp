// The CUDA solver's kernels as the host sees them: each kernel file defines launch functions, declared
// here, that pick their own grid and block, and solver.cu calls them in pipeline order
// (cost_kernels.cu, init_kernels.cu for phases 1-3, augment_kernel.cu for phase 4) and checks each
// launch. An internal header: the interface of the CUDA side is gpu.hpp.
//
// The kernel files are separate translation units compiled without relocatable device code: no
// __device__ function or variable is shared between them (each file's helpers serve its own kernels),
// so whole-program compilation loses nothing and -rdc, with its device link step and lost cross-file
// inlining, is not needed.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "gpu.hpp"  // CudaError

namespace saematch::cuda {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the next call starts clean
    throw CudaError(std::string("CUDA ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
}
inline void checkLaunch(const char* what) {
  check(cudaGetLastError(), what);
}

inline unsigned blocksFor(int64_t n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

// ---------------------------------------------------------------- cost matrix (cost_kernels.cu)

// Rows and columns of the cost matrix per block: the grid has ceil(n / kCostTile) blocks a side.
constexpr int kCostTile = 128;

// Squared norms in float64 (cosine: inverse lengths, 0 for a zero vector) of n rows of length k.
void launchSqNorms(const float* x, int64_t n, int64_t k, double* out, int cosine);
// C = epilogue(A B^T) for A (na x k), B (nb x k): squared distances clamped at 0, or cosine distances
// (normA/normB from launchSqNorms). `simple` runs the reference kernel instead of the pipelined one.
void launchCostMatrix(bool simple, const float* A, const float* B, int64_t na, int64_t nb, int64_t k,
                      const double* normA, const double* normB, int cosine, float* C);

// ---------------------------------------------------------------- phases 1-3 (init_kernels.cu)

constexpr int kSegRows = 256;  // rows per partial column minimum (phase 1)

void launchFillInt(int32_t* p, int64_t n, int32_t value);
void launchFillU64(unsigned long long* p, int64_t n, unsigned long long value);
// Phase 1: column minima over segments of kSegRows rows, then over the segments; each column offers
// itself to its minimising row, which keeps one (keep), then x and y from what was kept.
void launchColumnMinPartial(const float* C, int64_t n, int64_t segs, float* pmin, int32_t* parg, int* invalid);
void launchColumnMinFinal(const float* pmin, const int32_t* parg, int64_t n, int64_t segs, double* v,
                          int32_t* matches, unsigned long long* keep, int* noRow);
void launchAssignKept(const unsigned long long* keep, const int32_t* matches, int64_t n, int32_t* x, int32_t* y);
// Phase 2: every row holding exactly one column computes its transfer against the same v, then all apply.
void launchTransfer(const float* C, int64_t n, const double* v, const int32_t* matches, const int32_t* x,
                    double* drop);
void launchApplyTransfer(const int32_t* matches, const int32_t* x, const double* drop, int64_t n, double* v);
// Phase 3, one Jacobi round: bids of the nfree free rows against the same v, the lowest bidder per
// column wins, the winners' columns reset for the next round.
void launchBid(const float* C, int64_t n, const double* v, const int32_t* y, const int32_t* freeRows,
               int32_t nfree, int32_t* target, double* dec, int32_t* winner, int* noCol);
void launchApplyBids(const int32_t* freeRows, int32_t nfree, const int32_t* target, const double* dec,
                     const int32_t* winner, int32_t* x, int32_t* y, double* v);
void launchResetWinners(const int32_t* freeRows, int32_t nfree, const int32_t* target, int32_t* winner);
// The unassigned rows into freeRows, their number into *count (zeroed by the caller).
void launchCollectFree(const int32_t* x, int64_t n, int32_t* freeRows, int32_t* count);

// ---------------------------------------------------------------- phase 4 (augment_kernel.cu)

// Shortest augmenting paths from the nfree rows in freeRows, one after the other, in one resident
// block. d, pred, scannedCol, scannedDist: n entries of scratch. status[0]: 0 done, 1 a free row
// reached no free column (infeasible); status[1]: Dijkstra steps.
void launchAugment(const float* C, int64_t n, double* v, int32_t* x, int32_t* y, double* d, int32_t* pred,
                   int32_t* scannedCol, double* scannedDist, const int32_t* freeRows, int32_t nfree,
                   unsigned long long* status);

}  // namespace saematch::cuda
