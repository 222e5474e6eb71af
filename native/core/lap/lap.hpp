// Exact linear assignment: Jonker & Volgenant, "A shortest augmenting path algorithm for dense and
// sparse linear assignment problems", Computing 38 (1987) 325-340.
//
// Conventions follow the paper: x (row -> column, "rowsol"), y (column -> row, "colsol"), dual
// variables u (rows) and v (columns) with reduced cost c_ij - u_i - v_j >= 0 and = 0 on the assignment.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "../errors.hpp"  // InputError, DeviceError, Cancelled

namespace saematch {

struct LapStats {
  int64_t free_after_column_reduction = 0;
  int64_t free_after_arr = 0;       // rows left for the shortest-augmenting-path phase
  int64_t arr_row_scans = 0;        // rows scanned by augmenting row reduction
  int64_t augmentations = 0;        // shortest augmenting paths
  int64_t dijkstra_steps = 0;       // rows scanned inside those paths
  double seconds_init = 0;          // column reduction + reduction transfer + ARR
  double seconds_augment = 0;
  int64_t parallel_rounds = 0;      // bidding rounds of the parallel (device-style) initialisation
  int64_t warm_start_rejected = 0;  // warm-start rows freed because their column was not a row minimum
  int64_t helper_steps = 0;         // phase 4 relaxations whose upper half the helper thread did
  int64_t steps_taken_over = 0;     // ... and those whose upper half the solver did itself, the helper not being there
};

// How the solver runs, never what it finds (src/solve/engine.ts documents each choice for users).
struct SolverOptions {
  // 1: phase 4 on the calling thread only. 2: each relaxation of phase 4 is split with a helper
  // thread when it pays (>= 4096 columns, >= 4 rows left, >= 2 hardware threads; relax_team.hpp).
  int phase4_threads = 2;
};

struct LapResult {
  bool feasible = false;
  std::vector<int32_t> x;  // row -> column, -1 where the row is unassigned (tall matrices)
  std::vector<int32_t> y;  // column -> row, -1 where the column is unassigned
  std::vector<double> u, v;
  double total = 0;        // sum of the original costs on the assignment, accumulated in f64
  LapStats stats;
};

struct Certificate {
  double max_violation = 0;      // worst of: -(min reduced cost), |reduced cost| on the assignment,
                                 // and (rectangular) the unassigned-side dual condition
  double min_reduced_cost = 0;
  double max_assigned_gap = 0;
  double tolerance = 0;
  bool assignment_valid = false; // a one-to-one matching of the smaller side using no forbidden pair
  bool ok = false;               // assignment_valid && max_violation <= tolerance
  std::string message;
};

// Solve min (or max) sum_i c[i, x_i] over a dense row-major n_rows x n_cols matrix. The smaller side
// is fully assigned. Forbidden pairs are +inf (minimise) / -inf (maximise), as in scipy.
// `cancel` may be null; when it becomes true the solver throws Cancelled.
template <typename T>
LapResult solveAssignment(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize,
                          const SolverOptions& options, const std::atomic<bool>* cancel);

// Verify optimality of (x, u, v) from the duals alone: every reduced cost >= -tol, assigned ones
// within tol of zero; for rectangular problems the duals of the unassigned side must be equal and
// dominate. tol <= 0 selects 1e-9 * (1 + max |finite cost|).
template <typename T>
Certificate checkCertificate(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize,
                             const int32_t* x, const double* u, const double* v, double tol);

// The state a parallel initialisation (the CUDA solver's, or its host reference below) hands to the
// shortest-path phase: a partial assignment and column duals v in which every assigned row's column
// minimises c_ij - v_j over the row (so u_i = c_ij - v_j makes the pair tight and the row feasible).
struct WarmStart {
  std::vector<int32_t> x, y;  // row -> column, column -> row; -1 free
  std::vector<double> v;
  bool infeasible = false;    // some column or row has no allowed entry
  LapStats stats;             // free_after_column_reduction, free_after_arr, parallel_rounds
};

// JV phases 1-3 in the data-parallel form the CUDA solver runs (native/cuda/init_kernels.cu), on the
// host: the reference it is checked against, and how the warm-start path is tested without a GPU.
//   1. column reduction: v_j = min_i c_ij (lowest row on ties); a row that is the minimum of several
//      columns keeps the one with the smallest v (the highest column index on ties);
//   2. reduction transfer, Jacobi style: every row holding exactly one column computes its slack
//      against the v of step 1, then all transfers are applied;
//   3. `rounds` rounds of Jacobi augmenting row reduction: every free row finds its two smallest
//      reduced costs against the same v and bids for its best column (JV's rule on ties); each column
//      goes to its lowest-index bidder, whose bid lowers the column's v by the gap u2 - u1 and displaces
//      the previous holder. Lowering a v only makes that column worse for everyone else, so every
//      assigned row still holds a row minimum after a round: the invariant WarmStart promises.
// Rounds stop early once kArrStallRounds rounds in a row bring no new low of the free count.
// Square matrices, minimisation, float32 (the device path's types). maxScans > 0 (the CPU's rules;
// the device has neither) also stops the rounds before their row scans (stats.arr_row_scans) would
// pass it, or once n / 4 scans bring no new low of the free count.
constexpr int kArrStallRounds = 64;
WarmStart parallelInitReference(const float* cost, int64_t n, int rounds, const std::atomic<bool>* cancel,
                                int64_t maxScans = 0);

// The row scans the sequential phase 3 may make at most (two passes of 4 n + 1024, jv.cpp): the
// budget the CPU gives the parallel one, so it never scans more than the phase it replaces.
int64_t sequentialArrScans(int64_t n);

// parallelInitReference followed by phase 4 on the same matrix, without re-checking what the
// initialisation guarantees (the entries and the row minima): the CPU backend's solver for large
// square pairs. An infeasible matrix returns feasible = false.
LapResult solveWithParallelInit(const float* cost, int64_t n, int rounds, const SolverOptions& options,
                                const std::atomic<bool>* cancel, int64_t maxScans = 0);

// JV phase 4 from a warm start (square, minimise). The warm start is checked, not trusted: malformed
// x/y/v are an InputError; an assigned row whose column is not a row minimum under v is freed (counted
// in stats.warm_start_rejected) and augmented like the others, so the result is optimal either way.
LapResult solveFromWarmStart(const float* cost, int64_t n, WarmStart ws, const SolverOptions& options,
                             const std::atomic<bool>* cancel);

}  // namespace saematch
